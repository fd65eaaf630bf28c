# An Aurora PostgreSQL cluster with one (writer) instance in private subnets: a relational
# replica that clients reach only from the given security groups. RDS generates the master
# user's password and keeps it in a Secrets Manager secret of its own (encrypted with the
# given key): it is never in Terraform's configuration, state or outputs, and clients read
# it from the secret. Storage is encrypted, the PostgreSQL log is exported to a log group
# with a retention, and IAM database authentication is on beside the password.
#
# The port is left to RDS (Aurora PostgreSQL's default, 5432) and read back from the cluster:
# an emulated RDS may answer with its own endpoint and port, and clients take both from the
# outputs.
locals {
  # Aurora PostgreSQL's default port, which the cluster keeps as it sets none. The security
  # group cannot take the cluster's port attribute: the cluster depends on the group.
  postgres_port = 5432
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of Aurora PostgreSQL cluster ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

# PostgreSQL from the client groups only. No egress rule: the database opens no connection
# itself (the provider removes the allow-all rule AWS adds to a new group).
resource "aws_security_group" "this" {
  name        = "${var.name}-aurora"
  description = "Aurora PostgreSQL cluster ${var.name}: PostgreSQL from its clients only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-aurora" })

  dynamic "ingress" {
    for_each = length(var.client_security_group_ids) > 0 ? [1] : []
    content {
      description     = "PostgreSQL from the replica clients"
      protocol        = "tcp"
      from_port       = local.postgres_port
      to_port         = local.postgres_port
      security_groups = var.client_security_group_ids
    }
  }
}

# RDS creates the log group of an exported log on first write, with no retention and no key,
# and leaves it behind when the cluster is deleted: created here, it has both and goes with
# the cluster.
resource "aws_cloudwatch_log_group" "postgresql" {
  #checkov:skip=CKV_AWS_338:benchmark deployments are short-lived; log_retention_days sets the retention
  name              = "/aws/rds/cluster/${var.name}/postgresql"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV2_AWS_8:a benchmark replica is rebuilt from the source on every run: automated backups (backup_retention_days) suffice, no AWS Backup plan
  #checkov:skip=CKV2_AWS_27:logging every statement would load the replica whose lag the benchmark measures; the PostgreSQL log (errors, connections) is exported
  #checkov:skip=CKV_AWS_139:deletion_protection is a variable, false by default: every benchmark run destroys what it created
  cluster_identifier = var.name
  engine             = "aurora-postgresql"
  engine_mode        = "provisioned"
  engine_version     = var.engine_version
  database_name      = var.database_name
  master_username    = var.master_username
  # RDS generates the password and stores it in Secrets Manager, encrypted with the key.
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  iam_database_authentication_enabled = true
  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.name}-final"
  deletion_protection                 = var.deletion_protection
  # A benchmark's change takes effect now, not in the next maintenance window.
  apply_immediately = true
  tags              = var.tags

  depends_on = [aws_cloudwatch_log_group.postgresql]
}

resource "aws_rds_cluster_instance" "this" {
  #checkov:skip=CKV_AWS_118:OS metrics every few seconds need a monitoring role and CloudWatch Logs ingestion; a replica living one benchmark run is watched by RDS's standard metrics
  #checkov:skip=CKV_AWS_353:a replica living one benchmark run is measured by the harness's SQL polling and RDS's standard metrics; moto, the local target, has no Performance Insights either
  identifier                 = "${var.name}-1"
  cluster_identifier         = aws_rds_cluster.this.id
  engine                     = aws_rds_cluster.this.engine
  engine_version             = aws_rds_cluster.this.engine_version
  instance_class             = var.instance_class
  db_subnet_group_name       = aws_db_subnet_group.this.name
  publicly_accessible        = false
  auto_minor_version_upgrade = true
  copy_tags_to_snapshot      = true
  apply_immediately          = true
  tags                       = var.tags
}
