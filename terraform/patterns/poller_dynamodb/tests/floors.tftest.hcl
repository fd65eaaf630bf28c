# The table waits for the publisher's poll and nothing else; the plans below also hold the
# publisher output and its IAM policy to the table, and the publisher's variables to their
# ranges.
# `terraform test` from this folder (no AWS needed: the provider is mocked).
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id = "floors-test"
}

run "floors_are_the_poll_interval" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { table = 500 }
    error_message = "by default the table waits for one 500 ms poll"
  }
}

run "floors_follow_the_poll_interval" {
  command = plan

  variables {
    poll_interval_ms = 2000
  }

  assert {
    condition     = output.lag_floors_ms == { table = 2000 }
    error_message = "the table waits for poll_interval_ms"
  }
}

run "the_publisher_output_hands_on_its_settings" {
  command = plan

  variables {
    publisher  = "naive"
    batch_size = 20
  }

  assert {
    condition = jsonencode(output.publisher) == jsonencode({
      variant          = "naive"
      poll_interval_ms = 500
      batch_size       = 20
      tables           = ["widgets", "orders"]
      sink             = "dynamodb"
      table_name       = "cdcbench-floors-test-pollddb-read-model"
    })
    error_message = "the publisher output hands on its variant, interval, batch size, tables, sink and table"
  }

  assert {
    condition     = output.read_model_table == "cdcbench-floors-test-pollddb-read-model"
    error_message = "the table is named after the prefix, the run and the pattern"
  }
}

run "the_publisher_may_write_the_table_and_use_the_key" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  # the table's ARN is known only once it exists: the plan takes this one
  override_module {
    target = module.read_model
    outputs = {
      name       = "cdcbench-floors-test-pollddb-read-model"
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/cdcbench-floors-test-pollddb-read-model"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/cdcbench-floors-test-pollddb-read-model/stream/2024-01-01T00:00:00.000"
    }
  }

  assert {
    condition = (
      jsonencode({ for s in data.aws_iam_policy_document.publisher.statement : s.sid => [sort(s.actions), sort(s.resources)] })
      == jsonencode({
        WriteTable = [
          ["dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
          ["arn:aws:dynamodb:us-east-1:123456789012:table/cdcbench-floors-test-pollddb-read-model"],
        ]
        UseKey = [["kms:Decrypt", "kms:GenerateDataKey"], [var.kms_key_arn]]
      })
    )
    error_message = "the publisher may write, delete and read items of the table and use its key, nothing else"
  }
}

run "without_a_key_no_key_is_granted" {
  command = plan

  assert {
    condition     = [for s in data.aws_iam_policy_document.publisher.statement : s.sid] == ["WriteTable"]
    error_message = "the AWS managed key needs no grant in the publisher's policy"
  }
}

# --- what the variables refuse ---------------------------------------------------------------------

run "rejects_an_unknown_publisher" {
  command = plan

  variables {
    publisher = "eager"
  }

  expect_failures = [var.publisher]
}

run "rejects_publisher_settings_out_of_range" {
  command = plan

  variables {
    poll_interval_ms = 60001
    batch_size       = 0.5
    run_id           = "Not_A_Run"
    kms_key_arn      = "alias/mine"
  }

  expect_failures = [var.poll_interval_ms, var.batch_size, var.run_id, var.kms_key_arn]
}
