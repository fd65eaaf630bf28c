"""The workload model, the paced writer and the ledger: the ground truth of every run."""
