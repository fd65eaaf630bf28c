"""cdcbench: deploy CDC patterns, drive load, measure lag and check the projections."""

__version__ = "0.1.0"
