output "table_copies" {
  description = "Per source table, the DynamoDB table DMS writes (keyed by the row's id) and its stream: {table, stream_arn}."
  value = {
    for t in local.source_tables : t => {
      table      = module.table[t].name
      stream_arn = module.table[t].stream_arn
    }
  }
}

output "bus_stream" {
  description = "Kinesis stream carrying every change as {table, op, keys, old, new}."
  value       = aws_kinesis_stream.bus.name
}

output "read_model_table" {
  description = "DynamoDB read model the projector writes (pk = \"<table>#<id>\")."
  value       = module.read_model.name
}

output "read_model_stream_arn" {
  description = "Stream of the read model, tailed by the harness's observer."
  value       = module.read_model.stream_arn
}

output "archive_bucket" {
  description = "Bucket Firehose archives the Kinesis stream into."
  value       = module.archive.name
}

output "archive_prefix" {
  description = "Key prefix of the archive's objects: <prefix>YYYY/MM/DD/HH/<delivery stream>-..."
  value       = local.archive_prefix
}

output "tables_task_arn" {
  description = "DMS task: PostgreSQL to the per-table DynamoDB tables."
  value       = module.tables_task.arn
}

output "fanin_function" {
  description = "Name of the fan-in function."
  value       = module.fanin.name
}

output "projector_function" {
  description = "Name of the projector function."
  value       = module.projector.name
}

output "delivery_stream" {
  description = "Firehose delivery stream archiving the Kinesis stream."
  value       = aws_kinesis_firehose_delivery_stream.archive.name
}

output "lag_floors_ms" {
  description = "Per projection, the waits (ms) a change may sit in on its way there: reported beside the measured lag. DMS's DynamoDB target has no window to configure; Lambda reads each table's stream about four times a second (0.25 s) and may gather for the fan-in's batching window; Lambda and Firehose read each Kinesis shard about once a second; the projector may gather for its batching window, Firehose buffers for its interval."
  value = {
    tables     = 0
    bus        = local.bus_floor_ms
    read_model = local.bus_floor_ms + 1000 + var.projector_batching_window_s * 1000
    archive    = local.bus_floor_ms + 1000 + var.archive_buffering_interval_s * 1000
  }
}

locals {
  bus_floor_ms = 250 + var.fanin_batching_window_s * 1000
}
