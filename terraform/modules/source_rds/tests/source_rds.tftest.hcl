# The source database's plan: logical replication and TLS forced by its parameter group, the
# master password left to RDS and Secrets Manager (never a variable, never an output),
# PostgreSQL from the given clients only, and the variables' validations.
# `terraform test` from this folder; no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  name                      = "src-test"
  vpc_id                    = "vpc-0abc"
  subnet_ids                = ["subnet-0aaa", "subnet-0bbb"]
  client_security_group_ids = ["sg-0workers"]
}

run "logical_replication_and_tls_are_on" {
  command = plan

  assert {
    condition = (
      aws_db_parameter_group.this.family == "postgres16" && aws_db_parameter_group.this.name == "src-test-postgres16"
      && aws_db_instance.this.parameter_group_name == "src-test-postgres16"
    )
    error_message = "the instance takes a parameter group of its engine's major version"
  }

  assert {
    condition = (
      { for p in aws_db_parameter_group.this.parameter : p.name => p.value }
      == { "rds.logical_replication" = "1", "rds.force_ssl" = "1" }
    )
    error_message = "the parameter group sets rds.logical_replication = 1 and rds.force_ssl = 1"
  }
}

run "the_master_password_stays_with_rds" {
  command = plan

  assert {
    condition = (
      aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null
      && aws_db_instance.this.username == "cdcbench"
    )
    error_message = "RDS manages the master password: none is set"
  }

  assert {
    condition = (
      aws_db_instance.this.iam_database_authentication_enabled && aws_db_instance.this.storage_encrypted
    )
    error_message = "IAM database authentication beside the password; storage encrypted"
  }
}

run "a_throwaway_private_postgres_16" {
  command = plan

  assert {
    condition = (
      aws_db_instance.this.engine == "postgres" && aws_db_instance.this.engine_version == "16.8"
      && aws_db_instance.this.instance_class == "db.t4g.medium" && aws_db_instance.this.port == 5432
      && aws_db_instance.this.db_name == "cdcbench"
    )
    error_message = "by default: PostgreSQL 16.8 on one db.t4g.medium, port 5432, database cdcbench"
  }

  assert {
    condition = (
      (!aws_db_instance.this.publicly_accessible) && (!aws_db_instance.this.multi_az)
      && aws_db_instance.this.db_subnet_group_name == "src-test"
      && jsonencode(aws_db_subnet_group.this.subnet_ids) == jsonencode(toset(["subnet-0aaa", "subnet-0bbb"]))
    )
    error_message = "a private single-AZ instance in the given subnets"
  }

  assert {
    condition = (
      aws_db_instance.this.skip_final_snapshot && (!aws_db_instance.this.deletion_protection)
      && aws_db_instance.this.backup_retention_period == 1 && aws_db_instance.this.delete_automated_backups
    )
    error_message = "a throwaway source: no final snapshot, no deletion protection, one day of backups gone with it"
  }

  assert {
    condition = (
      aws_db_instance.this.enabled_cloudwatch_logs_exports == toset(["postgresql"])
      && aws_cloudwatch_log_group.postgresql.name == "/aws/rds/instance/src-test/postgresql"
      && aws_cloudwatch_log_group.postgresql.retention_in_days == 30
      && aws_db_instance.this.performance_insights_enabled && aws_db_instance.this.performance_insights_retention_period == 7
    )
    error_message = "the PostgreSQL log goes to a log group kept 30 days; Performance Insights keeps its free week"
  }
}

run "a_customer_managed_key_encrypts_everything" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      aws_db_instance.this.kms_key_id == var.kms_key_arn
      && aws_db_instance.this.master_user_secret_kms_key_id == var.kms_key_arn
      && aws_db_instance.this.performance_insights_kms_key_id == var.kms_key_arn
      && aws_cloudwatch_log_group.postgresql.kms_key_id == var.kms_key_arn
    )
    error_message = "kms_key_arn encrypts the storage, the master user secret, Performance Insights and the log group"
  }
}

run "postgresql_from_the_clients_only" {
  command = plan

  variables {
    client_cidr_blocks = ["10.1.0.0/16"]
    port               = 6432
  }

  assert {
    condition = (
      toset([for rule in aws_security_group.this.ingress : jsonencode([rule.from_port, rule.to_port, rule.protocol, rule.cidr_blocks, rule.security_groups])])
      == toset([jsonencode([6432, 6432, "tcp", null, ["sg-0workers"]]), jsonencode([6432, 6432, "tcp", ["10.1.0.0/16"], null])])
    )
    error_message = "PostgreSQL, on the instance's port, from the client networks and groups only"
  }

  assert {
    condition     = aws_security_group.this.vpc_id == "vpc-0abc"
    error_message = "the database's group lives in the given VPC"
  }

  assert {
    condition     = aws_db_instance.this.port == 6432
    error_message = "the instance listens on port"
  }
}

run "the_outputs_hand_on_no_password" {
  command = plan

  override_resource {
    target          = aws_db_instance.this
    override_during = plan
    values = {
      address    = "src-test.abc.us-east-1.rds.amazonaws.com"
      port       = 5432
      db_name    = "cdcbench"
      username   = "cdcbench"
      arn        = "arn:aws:rds:us-east-1:123456789012:db:src-test"
      identifier = "src-test"
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x"
        kms_key_id    = "alias/aws/secretsmanager"
        secret_status = "active"
      }]
    }
  }

  override_resource {
    target          = aws_security_group.this
    override_during = plan
    values = {
      id = "sg-0source"
    }
  }

  assert {
    condition     = output.dsn_without_password == "host=src-test.abc.us-east-1.rds.amazonaws.com port=5432 dbname=cdcbench user=cdcbench sslmode=require"
    error_message = "the DSN names host, port, database, user and sslmode=require, and no password"
  }

  assert {
    condition     = output.master_user_secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x"
    error_message = "the credentials are handed on as the secret's ARN"
  }

  assert {
    condition = (
      output.address == "src-test.abc.us-east-1.rds.amazonaws.com" && output.port == 5432
      && output.database == "cdcbench" && output.username == "cdcbench"
    )
    error_message = "address, port, database and user come from the instance"
  }

  assert {
    condition = alltrue([
      for value in [
        output.address, output.port, output.database, output.username, output.master_user_secret_arn,
        output.security_group_id, output.dsn_without_password, output.instance_arn, output.instance_id,
      ] : !strcontains(lower(tostring(value)), "password")
    ])
    error_message = "no output carries a password"
  }
}

# --- what the variables refuse ---------------------------------------------------------------------

run "rejects_bad_names_and_networks" {
  command = plan

  variables {
    name                      = "Src--test-"
    vpc_id                    = "subnet-0abc"
    subnet_ids                = ["subnet-0aaa"]
    client_cidr_blocks        = ["0.0.0.0/0"]
    client_security_group_ids = ["vpc-0abc"]
  }

  expect_failures = [var.name, var.vpc_id, var.subnet_ids, var.client_cidr_blocks, var.client_security_group_ids]
}

run "rejects_a_bad_engine_port_and_database" {
  command = plan

  variables {
    engine_version  = "16"
    instance_class  = "t4g.medium"
    port            = 80
    database_name   = "1source"
    master_username = "rdsadmin"
  }

  expect_failures = [var.engine_version, var.instance_class, var.port, var.database_name, var.master_username]
}

run "rejects_storage_backups_and_logs_out_of_range" {
  command = plan

  variables {
    allocated_storage_gb     = 10
    max_allocated_storage_gb = -1
    backup_retention_days    = 36
    log_retention_days       = 2
    kms_key_arn              = "alias/cdcbench"
  }

  expect_failures = [
    var.allocated_storage_gb,
    var.max_allocated_storage_gb,
    var.backup_retention_days,
    var.log_retention_days,
    var.kms_key_arn,
  ]
}

run "rejects_storage_autoscaling_below_the_allocation" {
  command = plan

  variables {
    allocated_storage_gb     = 200
    max_allocated_storage_gb = 100
  }

  expect_failures = [aws_db_instance.this]
}

run "rejects_a_database_nobody_can_reach" {
  command = plan

  variables {
    client_security_group_ids = []
  }

  expect_failures = [aws_security_group.this]
}
