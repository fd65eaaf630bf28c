# The per-table copies wait for nothing configurable; the stream for Lambda's poll of each
# table's stream (0.25 s) and the fan-in's batching window; the read model and the archive
# for that, a second's Kinesis poll, and the projector's window or Firehose's buffer.
# `terraform test` from this folder once cdcbench has built functions/*.zip (it does before
# every apply and test); no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id            = "floors-test"
  source_connection = { host = "db.example", database = "app", username = "cdc" }
}

run "floors_by_default" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { tables = 0, bus = 250, read_model = 1250, archive = 301250 }
    error_message = "defaults: no batching windows, Firehose's 300 s buffer"
  }
}

run "floors_follow_the_windows" {
  command = plan

  variables {
    fanin_batching_window_s      = 1
    projector_batching_window_s  = 2
    archive_buffering_interval_s = 60
  }

  assert {
    condition     = output.lag_floors_ms == { tables = 0, bus = 1250, read_model = 4250, archive = 62250 }
    error_message = "each hop adds its window to the hops before it"
  }
}

run "one_mapping_per_table" {
  command = plan

  assert {
    condition     = length(aws_lambda_event_source_mapping.fanin) == 2 && aws_kinesis_stream.bus.shard_count == 2
    error_message = "the fan-in reads both tables' streams; the bus has two shards by default"
  }
}
