"""Corrections to moto's behaviour, applied inside the moto server process only.

Each fix is a small patch with a comment naming the moto behaviour it corrects.
None are needed yet by the deployed patterns.
"""


def apply() -> None:
    """Install every fix. Called once by the moto child before it serves requests."""
