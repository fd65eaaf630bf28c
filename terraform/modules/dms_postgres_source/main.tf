# A DMS source endpoint for PostgreSQL read through logical replication with the
# `test_decoding` plugin (DMS's default; the source needs wal_level=logical, or
# rds.logical_replication=1 on RDS). The endpoint is encrypted with the given KMS key.
#
# `connection` is sensitive as a whole because it carries the password; the rest of it
# (host, port, database, user, TLS mode) is no secret and stays readable in plans.
resource "aws_dms_endpoint" "this" {
  endpoint_id   = var.name
  endpoint_type = "source"
  engine_name   = "postgres"
  server_name   = nonsensitive(var.connection.host)
  port          = nonsensitive(var.connection.port)
  database_name = nonsensitive(var.connection.database)
  username      = nonsensitive(var.connection.username)
  password      = var.connection.password == "" ? null : var.connection.password
  ssl_mode      = nonsensitive(var.connection.ssl_mode)
  kms_key_arn   = var.kms_key_arn
  tags          = var.tags

  postgres_settings {
    plugin_name = var.plugin_name
    slot_name   = var.slot_name
  }
}
