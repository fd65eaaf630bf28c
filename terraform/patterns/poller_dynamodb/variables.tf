# Every variable of this pattern is shared: the publisher's (publisher, poll_interval_ms,
# batch_size) in publisher_variables.tf, also poller_kinesis_aurora's; run_id, name_prefix and
# kms_key_arn in shared_variables.tf. The table has nothing to tune: on-demand, encrypted,
# with a stream (modules/read_model_table).
