"""Speed: moto answers as AWS does, but at a cost that grows with the data or dominates the
server's time under a benchmark's load. `tests/unit/test_moto_speed_fixes.py` and
`tests/unit/test_moto_server_fix.py` show the cost on moto without each fix."""
