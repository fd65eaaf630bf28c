# The read model waits for the projector's batching window, the event store for the sink's
# rotation when it writes more than one record per object, the topic for nothing.
# `terraform test` from this folder once cdcbench has built functions/projector.zip (it does
# before every apply and test); no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id            = "floors-test"
  source_connection = { host = "db.example", database = "app", username = "cdc" }
  # any zip does for a plan
  s3_sink_plugin_package = "functions/projector.zip"
}

run "floors_are_zero_by_default" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { topic = 0, event_store = 0, read_model = 0 }
    error_message = "no configured window by default (flush size 1, batching window 0)"
  }
}

run "floors_follow_the_windows" {
  command = plan

  variables {
    projector_batching_window_s = 2
    s3_sink_flush_size          = 50
    s3_sink_rotate_interval_s   = 30
  }

  assert {
    condition     = output.lag_floors_ms == { topic = 0, event_store = 30000, read_model = 2000 }
    error_message = "the read model waits for the batching window, the event store for the rotation"
  }
}
