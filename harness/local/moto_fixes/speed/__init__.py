"""Speed: moto answers as AWS does, but at a cost (in time or memory) that grows with the
data or dominates the server's time under a benchmark's load.
`tests/unit/test_moto_speed_fixes.py`, `tests/unit/test_moto_server_fix.py` and
`tests/unit/test_moto_history_fixes.py` show the cost on moto without each fix."""
