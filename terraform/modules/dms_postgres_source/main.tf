# A DMS source endpoint for PostgreSQL read through logical replication with the
# `test_decoding` plugin (DMS's default; the source needs wal_level=logical, or
# rds.logical_replication=1 on RDS). The endpoint is encrypted with the given KMS key.
resource "aws_dms_endpoint" "this" {
  endpoint_id   = var.name
  endpoint_type = "source"
  engine_name   = "postgres"
  server_name   = var.server_name
  port          = var.port
  database_name = var.database_name
  username      = var.username
  password      = var.password == "" ? null : var.password
  ssl_mode      = var.ssl_mode
  kms_key_arn   = var.kms_key_arn
  tags          = var.tags

  postgres_settings {
    plugin_name = var.plugin_name
    slot_name   = var.slot_name
  }
}
