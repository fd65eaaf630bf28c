# An RDS for PostgreSQL instance to load as the source database on the aws target (the local
# and localstack targets bring their own): a throwaway database living one benchmark run, in
# private subnets, admitting PostgreSQL only from the given CIDR blocks and security groups.
#
# Logical replication is on (rds.logical_replication = 1: wal_level logical, for DMS and any
# other logical decoding client) and TLS is required (rds.force_ssl = 1). RDS generates the
# master user's password and keeps it in a Secrets Manager secret of its own: it is never in
# Terraform's configuration, state or outputs, and clients read it from the secret. Storage
# is encrypted, IAM database authentication is on beside the password, the PostgreSQL log is
# exported to a log group with a retention, and Performance Insights keeps its free week.
locals {
  # The parameter group family follows the engine's major version (16.8 -> postgres16).
  family = "postgres${split(".", var.engine_version)[0]}"
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of source database ${var.name}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_db_parameter_group" "this" {
  # Named after its family: a new major version gets a new group, created before the old one
  # is given up.
  name        = "${var.name}-${local.family}"
  family      = local.family
  description = "Source database ${var.name}: logical replication on, TLS required"
  tags        = var.tags

  # Static: takes effect when the instance starts, which a new instance does with this group.
  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "immediate"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# PostgreSQL from the given clients only. No egress rule: the database opens no connection
# itself (the provider removes the allow-all rule AWS adds to a new group).
resource "aws_security_group" "this" {
  name        = "${var.name}-source"
  description = "Source database ${var.name}: PostgreSQL from its clients only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-source" })

  dynamic "ingress" {
    for_each = length(var.client_cidr_blocks) > 0 ? [1] : []
    content {
      description = "PostgreSQL from the client networks"
      protocol    = "tcp"
      from_port   = var.port
      to_port     = var.port
      cidr_blocks = var.client_cidr_blocks
    }
  }

  dynamic "ingress" {
    for_each = length(var.client_security_group_ids) > 0 ? [1] : []
    content {
      description     = "PostgreSQL from the client security groups"
      protocol        = "tcp"
      from_port       = var.port
      to_port         = var.port
      security_groups = var.client_security_group_ids
    }
  }

  lifecycle {
    precondition {
      condition     = length(var.client_cidr_blocks) + length(var.client_security_group_ids) > 0
      error_message = "client_cidr_blocks or client_security_group_ids must name who may connect: a source database nobody can reach cannot be loaded."
    }
  }
}

# RDS creates the log group of an exported log on first write, with no retention and no key,
# and leaves it behind when the instance is deleted: created here, it has both and goes with
# the instance.
resource "aws_cloudwatch_log_group" "postgresql" {
  #checkov:skip=CKV_AWS_338:benchmark deployments are short-lived; log_retention_days sets the retention
  name              = "/aws/rds/instance/${var.name}/postgresql"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_293:a throwaway benchmark source: every run destroys what it created, without a final snapshot, so deletion protection stays off
  #checkov:skip=CKV_AWS_157:a throwaway benchmark source in one zone: a standby would double its cost and add the synchronous commit latency the benchmark would then measure
  #checkov:skip=CKV_AWS_118:OS metrics every few seconds need a monitoring role and CloudWatch Logs ingestion; a source living one benchmark run is watched by RDS's standard metrics and Performance Insights
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  port           = var.port
  db_name        = var.database_name
  username       = var.master_username
  # RDS generates the password and stores it in Secrets Manager, encrypted with the key.
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  iam_database_authentication_enabled = true

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = false
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  # Backups as small as RDS allows: a source lives one run and is reloaded by the next.
  backup_retention_period  = var.backup_retention_days
  delete_automated_backups = true
  copy_tags_to_snapshot    = true
  # A throwaway benchmark source: destroyed with its run, no final snapshot outliving it.
  skip_final_snapshot = true
  deletion_protection = false

  enabled_cloudwatch_logs_exports       = ["postgresql"]
  performance_insights_enabled          = true
  performance_insights_retention_period = 7 # the free tier
  performance_insights_kms_key_id       = var.kms_key_arn
  monitoring_interval                   = 0

  auto_minor_version_upgrade = true
  # A benchmark's change takes effect now, not in the next maintenance window.
  apply_immediately = true
  tags              = var.tags

  depends_on = [aws_cloudwatch_log_group.postgresql]

  lifecycle {
    precondition {
      condition     = var.max_allocated_storage_gb == 0 || var.max_allocated_storage_gb > var.allocated_storage_gb
      error_message = "max_allocated_storage_gb must be 0 (no storage autoscaling) or more than allocated_storage_gb."
    }
  }
}
