output "event_store_bucket" {
  description = "Bucket of the S3 event store the MSK Connect S3 sink writes."
  value       = module.event_store.name
}

output "event_store_prefix" {
  description = "Key prefix of the sink's objects: <prefix>partition=<p>/<topic>+<p>+<offset>.json."
  value       = "${local.topics_dir}/${var.topic}/"
}

output "read_model_table" {
  description = "DynamoDB read model the projector writes (pk = \"<table>#<id>\")."
  value       = module.read_model.name
}

output "read_model_stream_arn" {
  description = "Stream of the read model, tailed by the harness's observer."
  value       = module.read_model.stream_arn
}

output "topic" {
  description = "Kafka topic carrying every change."
  value       = var.topic
}

output "msk_cluster_arn" {
  description = "MSK cluster holding the topic."
  value       = module.msk.arn
}

output "bootstrap_brokers" {
  description = "TLS bootstrap brokers of the MSK cluster."
  value       = module.msk.bootstrap_brokers_tls
}

output "topic_task_arn" {
  description = "DMS task: PostgreSQL to the topic."
  value       = module.topic_task.arn
}

output "projector_function" {
  description = "Name of the projector function."
  value       = module.projector.name
}

output "projector_mapping_uuid" {
  description = "The projector's MSK event-source mapping."
  value       = aws_lambda_event_source_mapping.projector.uuid
}

output "archive_connector_arn" {
  description = "MSK Connect S3 sink connector writing the event store."
  value       = module.archive.connector_arn
}

output "lag_floors_ms" {
  description = "Per projection, the batch windows (ms) a change may wait in on its way there: reported beside the measured lag. DMS's Kafka target has none to configure; the S3 sink writes each record at once with flush size 1, else a record may wait for the scheduled rotation; Lambda's MSK poller may gather records for MaximumBatchingWindowInSeconds before invoking the projector."
  value = {
    topic       = 0
    event_store = var.s3_sink_flush_size == 1 ? 0 : var.s3_sink_rotate_interval_s * 1000
    read_model  = var.projector_batching_window_s * 1000
  }
}
