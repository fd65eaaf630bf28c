# The event table and its two indexes wait for the SQS poller's batching window, and, when
# the application emits through an outbox, for the relay's poll before it; the plans below
# also hold the queue, the table and the mapping to the article and to AWS's limits, and the
# variables' validations to their ranges.
# `terraform test` from this folder once cdcbench has built functions/persist.zip (it does
# before every apply and test); no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id = "floors-test"
}

run "floors_are_zero_by_default" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { events = 0, by_type = 0, by_source = 0 }
    error_message = "no batching window and no relay by default (the article sends after commit)"
  }
}

run "floors_follow_the_batching_window" {
  command = plan

  variables {
    batching_window_s      = 2
    relay_poll_interval_ms = 500
  }

  assert {
    condition     = output.lag_floors_ms == { events = 2000, by_type = 2000, by_source = 2000 }
    error_message = "the batching window is the floor; the relay's interval counts only with an outbox"
  }
}

run "floors_add_the_relay_poll_with_an_outbox" {
  command = plan

  variables {
    emit                   = "outbox"
    relay_poll_interval_ms = 250
    batching_window_s      = 1
    batch_size             = 100
  }

  assert {
    condition     = output.lag_floors_ms == { events = 1250, by_type = 1250, by_source = 1250 }
    error_message = "an outbox event waits for the relay's poll, then for the batching window"
  }

  assert {
    condition     = output.application.emit == "outbox" && output.application.relay_poll_interval_ms == 250 && output.application.emit_failure_ratio == 0
    error_message = "the application output hands on the application's settings"
  }
}

run "the_table_is_the_articles" {
  command = plan

  assert {
    condition = (
      aws_dynamodb_table.events.hash_key == "RequestId" && aws_dynamodb_table.events.range_key == "Timestamp"
      && aws_dynamodb_table.events.billing_mode == "PAY_PER_REQUEST"
      && aws_dynamodb_table.events.stream_view_type == "NEW_AND_OLD_IMAGES"
    )
    error_message = "the event table is keyed RequestId + Timestamp, on demand, with a NEW_AND_OLD_IMAGES stream"
  }

  assert {
    condition = (
      { for gsi in aws_dynamodb_table.events.global_secondary_index : gsi.name => [gsi.hash_key, gsi.range_key, gsi.projection_type] }
      == { "Type-Index" = ["Type", "Timestamp", "ALL"], "Source-Index" = ["Source", "Timestamp", "ALL"] }
    )
    error_message = "Type-Index and Source-Index are keyed by Type or Source and Timestamp and project everything"
  }

  assert {
    condition     = output.type_index == "Type-Index" && output.source_index == "Source-Index"
    error_message = "the index outputs name the two GSIs"
  }
}

run "the_queue_and_mapping_follow_their_variables" {
  command = plan

  variables {
    max_receive_count          = 3
    report_batch_item_failures = false
    kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  # the dead-letter queue's ARN is known only once it exists: the plan takes this one
  override_resource {
    target          = aws_sqs_queue.dead_letters
    override_during = plan
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:floors-test-dlq"
    }
  }

  assert {
    condition = (
      jsondecode(aws_sqs_queue.events.redrive_policy)
      == { deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:floors-test-dlq", maxReceiveCount = 3 }
    )
    error_message = "messages move to the dead-letter queue after max_receive_count receives"
  }

  assert {
    condition     = aws_sqs_queue.events.visibility_timeout_seconds == 180 && aws_lambda_event_source_mapping.persist.batch_size == 10
    error_message = "by default: 180 s visibility (6 x the 30 s function timeout), batches of 10 (CDK's default)"
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.persist.function_response_types) == 0
    error_message = "report_batch_item_failures = false asks for no partial batch responses"
  }

  assert {
    condition = (
      aws_sqs_queue.events.kms_master_key_id == var.kms_key_arn && aws_sqs_queue.dead_letters.kms_master_key_id == var.kms_key_arn
      && aws_dynamodb_table.events.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    )
    error_message = "a customer managed key encrypts both queues and the table"
  }
}

run "only_the_event_queue_may_use_the_dead_letter_queue_when_asked" {
  command = plan

  variables {
    restrict_dead_letter_queue = true
  }

  override_resource {
    target          = aws_sqs_queue.events
    override_during = plan
    values = {
      arn = "arn:aws:sqs:us-east-1:123456789012:floors-test-events"
    }
  }

  assert {
    condition = (
      jsondecode(aws_sqs_queue_redrive_allow_policy.dead_letters[0].redrive_allow_policy)
      == { redrivePermission = "byQueue", sourceQueueArns = ["arn:aws:sqs:us-east-1:123456789012:floors-test-events"] }
    )
    error_message = "the redrive allow policy names the event queue only"
  }
}

run "aws_managed_keys_by_default" {
  command = plan

  assert {
    condition     = aws_sqs_queue.events.kms_master_key_id == "alias/aws/sqs" && aws_sqs_queue.dead_letters.kms_master_key_id == "alias/aws/sqs"
    error_message = "without a key, the queues use SQS's AWS managed key"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.persist.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "partial batch responses by default"
  }

  assert {
    condition     = length(aws_sqs_queue_redrive_allow_policy.dead_letters) == 0
    error_message = "no redrive allow policy by default (moto cannot apply one)"
  }
}

# --- what the variables refuse ---------------------------------------------------------------------

run "rejects_an_unknown_function" {
  command = plan

  variables {
    persist = "careful"
  }

  expect_failures = [var.persist]
}

run "rejects_an_unknown_emit" {
  command = plan

  variables {
    emit = "cdc"
  }

  expect_failures = [var.emit]
}

run "rejects_a_failure_ratio_above_one" {
  command = plan

  variables {
    emit_failure_ratio = 1.5
  }

  expect_failures = [var.emit_failure_ratio]
}

run "rejects_batches_out_of_range" {
  command = plan

  variables {
    batch_size        = 0
    batching_window_s = 301
  }

  expect_failures = [var.batch_size, var.batching_window_s]
}

run "rejects_bad_counts_and_intervals" {
  command = plan

  variables {
    max_receive_count      = 0
    relay_poll_interval_ms = 5
    reserved_concurrency   = -2
    run_id                 = "Not_A_Run"
    kms_key_arn            = "alias/mine"
  }

  expect_failures = [var.max_receive_count, var.relay_poll_interval_ms, var.reserved_concurrency, var.run_id, var.kms_key_arn]
}

run "rejects_a_visibility_timeout_under_six_function_timeouts" {
  command = plan

  variables {
    function_timeout_s   = 60
    visibility_timeout_s = 300
  }

  expect_failures = [aws_sqs_queue.events]
}

run "rejects_a_dead_letter_queue_keeping_less_than_the_queue" {
  command = plan

  variables {
    message_retention_s = 86400
    dlq_retention_s     = 3600
  }

  expect_failures = [aws_sqs_queue.dead_letters]
}

run "rejects_large_batches_without_a_window" {
  command = plan

  variables {
    batch_size = 100
  }

  expect_failures = [aws_lambda_event_source_mapping.persist]
}
