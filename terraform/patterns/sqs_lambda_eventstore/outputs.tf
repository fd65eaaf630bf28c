output "queue_url" {
  description = "URL of the SQS queue the application sends its events to (one JSON message per changed row)."
  value       = aws_sqs_queue.events.url
}

output "queue_arn" {
  description = "ARN of the SQS queue the application sends its events to."
  value       = aws_sqs_queue.events.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue: messages still not persisted after max_receive_count receives."
  value       = aws_sqs_queue.dead_letters.url
}

output "event_table" {
  description = "Name of the DynamoDB event table (RequestId + Timestamp) the function persists each message into."
  value       = aws_dynamodb_table.events.name
}

output "event_table_stream_arn" {
  description = "Stream (NEW_AND_OLD_IMAGES) of the event table, tailed by the harness's observer."
  value       = aws_dynamodb_table.events.stream_arn
}

output "type_index" {
  description = "Name of the event table's GSI keyed by Type (INSERT, UPDATE, DELETE) and Timestamp."
  value       = local.type_index
}

output "source_index" {
  description = "Name of the event table's GSI keyed by Source (the source table) and Timestamp."
  value       = local.source_index
}

output "persist_function" {
  description = "Name of the persisting function."
  value       = module.persist.name
}

output "application" {
  description = "What the harness's application needs to emit its events: emit (after_commit, before_commit or outbox), emit_failure_ratio, relay_poll_interval_ms and the queue_url to send to. Terraform deploys nothing for these settings; it only hands them on."
  value = {
    emit                   = var.emit
    emit_failure_ratio     = var.emit_failure_ratio
    relay_poll_interval_ms = var.relay_poll_interval_ms
    queue_url              = aws_sqs_queue.events.url
  }
}

output "lag_floors_ms" {
  description = "Per projection, the waits (ms) an event may sit in on its way there: reported beside the measured lag. Lambda's SQS poller long-polls (no configured wait) but may gather for the batching window; with emit = outbox, the relay's poll interval comes first. The indexes are fed by the same writes as the table."
  value = {
    events    = local.events_floor_ms
    by_type   = local.events_floor_ms
    by_source = local.events_floor_ms
  }
}

locals {
  events_floor_ms = var.batching_window_s * 1000 + (var.emit == "outbox" ? var.relay_poll_interval_ms : 0)
}
