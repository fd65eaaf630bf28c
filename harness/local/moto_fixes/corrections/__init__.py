"""Corrections: where moto answers differently from AWS for what it implements. Each fix
names the moto behaviour it corrects, and `tests/unit/test_moto_corrections.py` shows that
behaviour on moto without the fix (so a test there fails once moto fixes it upstream, and
says which fix can go)."""
