"""Checkers: lag against the ledger, a state projection at convergence, an event log's
events (every change, or net changes); and anomalies to inject on purpose, to prove them."""
