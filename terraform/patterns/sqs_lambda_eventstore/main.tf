# Ippon's "event sourcing with DynamoDB": the application sends its own events to SQS, a
# Lambda persists each message as an item of an `event` table.
#
#   application --(one message per changed row)--> SQS queue --Lambda poller--> persist Lambda
#     --> DynamoDB `event` table: RequestId (PK) + Timestamp (SK), GSIs Type-Index, Source-Index
#   messages still failing after max_receive_count receives --> dead-letter queue
#
# No CDC: the application writes its database and, on its own, sends the event (`emit`: after
# its commit as the article, before it, or through an outbox and a relay). The queue, the
# table and the function are declared here; the application's settings are only handed to
# the harness (the `application` output).
#
# The persisting function (`persist` = "correct": typed values, a sort key unique per row
# change, an idempotent conditional put, failed messages reported; "naive": the article's
# Node handler ported line for line) is built from functions/persist/ before apply
# (Terraform's offline providers cannot zip).
locals {
  name = replace("${var.name_prefix}-${var.run_id}-evstore", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "sqs_lambda_eventstore"
  }

  # Lambda (and IAM role) names stop at 64 characters: a long name keeps its start and a hash.
  short_name = (
    length(local.name) <= 44 ? local.name
    : "${trimsuffix(substr(local.name, 0, 35), "-")}-${substr(sha1(local.name), 0, 8)}"
  )
  persist_handlers = { correct = "persist.handler", naive = "naive.handler" }
  persist_package  = coalesce(var.persist_package, "${path.module}/functions/persist.zip")
  queue_key        = coalesce(var.kms_key_arn, "alias/aws/sqs")
  type_index       = "Type-Index"
  source_index     = "Source-Index"
}

# --- the queues -----------------------------------------------------------------------------------

resource "aws_sqs_queue" "events" {
  name                       = "${local.name}-events"
  visibility_timeout_seconds = var.visibility_timeout_s
  message_retention_seconds  = var.message_retention_s
  kms_master_key_id          = local.queue_key
  tags                       = local.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = var.visibility_timeout_s >= 6 * var.function_timeout_s
      error_message = "visibility_timeout_s must be at least 6 x function_timeout_s (${6 * var.function_timeout_s} s), as AWS recommends for a queue Lambda reads: a batch throttled or retried must not become visible again while it is still being processed."
    }
  }
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${local.name}-events-dlq"
  message_retention_seconds = var.dlq_retention_s
  kms_master_key_id         = local.queue_key
  tags                      = local.tags

  lifecycle {
    precondition {
      condition     = var.dlq_retention_s >= var.message_retention_s
      error_message = "dlq_retention_s must be at least message_retention_s (${var.message_retention_s} s): a message moved to the dead-letter queue keeps its first enqueue time, so a shorter retention could delete it on arrival."
    }
  }
}

# Only the event queue may use the dead-letter queue (restrict_dead_letter_queue; off by
# default, as moto cannot apply it: see the variable). A resource of its own: set on the
# dead-letter queue itself, it would depend on the queue that depends on it.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letters" {
  count     = var.restrict_dead_letter_queue ? 1 : 0
  queue_url = aws_sqs_queue.dead_letters.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events.arn]
  })
}

# --- the event table (as the article's CDK stack declares it) ----------------------------------

resource "aws_dynamodb_table" "events" {
  name                        = "${local.name}-event"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "RequestId"
  range_key                   = "Timestamp"
  deletion_protection_enabled = false # a benchmark's table: destroyed after each run
  # The harness observes the table through its stream: reading it touches neither the write
  # path nor the table's capacity, and it shows every write, including an item written over
  # by another one (which periodic scans or queries can miss).
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  tags             = local.tags

  attribute {
    name = "RequestId"
    type = "S"
  }

  attribute {
    name = "Timestamp"
    type = "S"
  }

  attribute {
    name = "Type"
    type = "S"
  }

  attribute {
    name = "Source"
    type = "S"
  }

  global_secondary_index {
    name            = local.type_index
    hash_key        = "Type"
    range_key       = "Timestamp"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = local.source_index
    hash_key        = "Source"
    range_key       = "Timestamp"
    projection_type = "ALL"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

# --- the persisting function: the queue -> the event table ---------------------------------------

data "aws_iam_policy_document" "persist" {
  statement {
    sid = "ConsumeQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    resources = [aws_sqs_queue.events.arn]
  }

  statement {
    sid       = "PersistEvents"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.events.arn]
  }

  # The queue's messages and the table's items are encrypted with the customer managed key.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "persist" {
  source               = "../../modules/lambda_function"
  name                 = "${local.short_name}-persist"
  description          = "Persists the events of ${aws_sqs_queue.events.name} into ${aws_dynamodb_table.events.name} (${var.persist})"
  package              = local.persist_package
  handler              = local.persist_handlers[var.persist]
  timeout              = var.function_timeout_s
  reserved_concurrency = var.reserved_concurrency
  policy_json          = data.aws_iam_policy_document.persist.json
  kms_key_arn          = var.kms_key_arn
  fault_injection      = local.fault_injection
  tags                 = local.tags
  environment = {
    EVENT_TABLE = aws_dynamodb_table.events.name
    # without partial batch responses, the correct function fails the whole batch instead
    REPORT_BATCH_ITEM_FAILURES = tostring(var.report_batch_item_failures)
  }
}

resource "aws_lambda_event_source_mapping" "persist" {
  event_source_arn                   = aws_sqs_queue.events.arn
  function_name                      = module.persist.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_s
  # the correct function names its failed messages; the naive one never fails a message
  function_response_types = var.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.batching_window_s >= 1
      error_message = "batch_size above 10 needs batching_window_s of at least 1: Lambda refuses a larger SQS batch without a batching window."
    }
  }
}
