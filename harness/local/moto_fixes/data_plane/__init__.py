"""Data plane: where moto runs (or pretends to run) what a resource does, it is handed over to
a local engine in the harness process instead (`harness.local.lambda_runtime`,
`harness.local.dms`, `harness.local.firehose`). The moto side of each is kept to the hand-over:
stop moto's own behaviour, queue what the engine needs, and refuse at the API what the engine
cannot do."""
