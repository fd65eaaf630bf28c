# Both projections wait for task 1's CDC batch window: the configured floor follows it.
# `terraform test` from this folder (no AWS needed: the provider is mocked).
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id            = "floors-test"
  source_connection = { host = "db.example", database = "app", username = "cdc" }
}

run "floors_are_dms_default_batch_window" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { event_store = 60000, read_model = 60000 }
    error_message = "both projections wait for CdcMaxBatchInterval (60 s by default)"
  }
}

run "floors_follow_the_batch_window" {
  command = plan

  variables {
    cdc_max_batch_interval = 3
  }

  assert {
    condition     = output.lag_floors_ms == { event_store = 3000, read_model = 3000 }
    error_message = "both projections wait for cdc_max_batch_interval"
  }
}
