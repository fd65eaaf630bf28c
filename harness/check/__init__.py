"""Checkers: lag against the ledger, and the projection's state at convergence."""
