output "event_store_bucket" {
  description = "Bucket of the S3 event store."
  value       = module.event_store.name
}

output "event_store_prefix" {
  description = "Key prefix of every file task 1 writes: LOAD files under <prefix>public/<table>/, CDC_TXN files under <prefix>cdc/."
  value       = "${var.event_store_folder}/"
}

output "event_store_include_op_for_full_load" {
  description = "Full-load rows of the event store are led by the op I, as CDC rows are by I, U or D (IncludeOpForFullLoad)."
  value       = var.include_op_for_full_load
}

output "read_model_table" {
  description = "DynamoDB read model task 2 writes (pk = \"<table>#<id>\")."
  value       = module.read_model.name
}

output "read_model_stream_arn" {
  description = "Stream of the read model, tailed by the harness's observer."
  value       = module.read_model.stream_arn
}

output "event_store_task_arn" {
  description = "DMS task 1: PostgreSQL to the S3 event store."
  value       = module.event_store_task.arn
}

output "read_model_task_arn" {
  description = "DMS task 2: the S3 event store to the DynamoDB read model."
  value       = module.read_model_task.arn
}

output "replication_instance_arn" {
  description = "Replication instance running both tasks."
  value       = module.replication.replication_instance_arn
}

output "lag_floors_ms" {
  description = "Per projection, the batch windows (ms) a change may wait in on its way there: reported beside the measured lag. Task 1 writes a CDC file at most CdcMaxBatchInterval after the oldest change in it; task 2's S3 source and DynamoDB target add no configured window (DMS offers no setting for either)."
  value = {
    event_store = var.cdc_max_batch_interval * 1000
    read_model  = var.cdc_max_batch_interval * 1000
  }
}
