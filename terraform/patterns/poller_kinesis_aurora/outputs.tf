output "stream_name" {
  description = "Kinesis stream the publisher puts one change event per changed row on (partition key: the row)."
  value       = aws_kinesis_stream.changes.name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream of change events."
  value       = aws_kinesis_stream.changes.arn
}

output "replica_host" {
  description = "Host name of the Aurora PostgreSQL replica's writer endpoint (reachable from inside its VPC)."
  value       = module.replica.endpoint
}

output "replica_port" {
  description = "Port of the replica, as RDS reports it."
  value       = module.replica.port
}

output "replica_database" {
  description = "Database of the replica holding the source's tables."
  value       = module.replica.database
}

output "replica_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS keeps the replica's master credentials in (JSON with username and password). Only the ARN: the password is never in Terraform's state or outputs; read it from the secret."
  value       = module.replica.master_user_secret_arn
}

output "subscriber_function" {
  description = "Name of the change-event subscriber function."
  value       = module.subscriber.name
}

output "publisher" {
  description = "What the harness's publisher needs: variant (correct or naive), poll_interval_ms, batch_size, the tables to track, its sink (kinesis) and the stream_name to put change events on. Terraform deploys nothing for the publisher; it only hands these on."
  value = {
    variant          = var.publisher
    poll_interval_ms = var.poll_interval_ms
    batch_size       = var.batch_size
    tables           = var.tracked_tables
    sink             = "kinesis"
    stream_name      = aws_kinesis_stream.changes.name
  }
}

output "publisher_policy_json" {
  description = "The least-privilege IAM policy (JSON) the publisher's own identity in the data centre needs: PutRecord, PutRecords and DescribeStreamSummary on the stream, and kms:GenerateDataKey on kms_key_arn when given."
  value       = data.aws_iam_policy_document.publisher.json
}

output "lag_floors_ms" {
  description = "Per projection, the waits (ms) a change may sit in on its way there: reported beside the measured lag. A change waits up to one poll interval for the publisher to read it; then Lambda's Kinesis poller reads each shard about once a second, and may gather for the subscriber's batching window."
  value = {
    changes = var.poll_interval_ms
    replica = var.poll_interval_ms + 1000 + var.subscriber_batching_window_s * 1000
  }
}
