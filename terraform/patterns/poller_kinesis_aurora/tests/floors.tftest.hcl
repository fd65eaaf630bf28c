# The changes wait for the publisher's poll; the replica for that, a second's Kinesis poll and
# the subscriber's batching window. The plans below also hold the stream, the mapping, the
# network and the IAM policies to what the pattern needs, the replica's password to RDS and
# Secrets Manager alone, and the variables' validations to their ranges.
# `terraform test` from this folder once cdcbench has built functions/subscriber.zip (it does
# before every apply and test); no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id = "floors-test"
}

run "floors_by_default" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { changes = 500, replica = 1500 }
    error_message = "defaults: a 500 ms poll, a second's Kinesis poll, no batching window"
  }
}

run "floors_follow_the_poll_interval_and_the_batching_window" {
  command = plan

  variables {
    poll_interval_ms             = 250
    subscriber_batching_window_s = 2
  }

  assert {
    condition     = output.lag_floors_ms == { changes = 250, replica = 3250 }
    error_message = "the changes wait for the poll; the replica for the poll, Kinesis's second and the batching window"
  }
}

run "the_publisher_output_hands_on_its_settings" {
  command = plan

  variables {
    publisher        = "naive"
    poll_interval_ms = 1000
    batch_size       = 50
  }

  assert {
    condition = jsonencode(output.publisher) == jsonencode({
      variant          = "naive"
      poll_interval_ms = 1000
      batch_size       = 50
      tables           = ["widgets", "orders"]
      sink             = "kinesis"
      stream_name      = "cdcbench-floors-test-pollaur-changes"
    })
    error_message = "the publisher output hands on its variant, interval, batch size, tables, sink and stream"
  }

  assert {
    condition     = output.stream_name == "cdcbench-floors-test-pollaur-changes"
    error_message = "the stream is named after the prefix, the run and the pattern"
  }
}

run "the_stream_and_the_mapping" {
  command = plan

  assert {
    condition = (
      aws_kinesis_stream.changes.shard_count == 2 && aws_kinesis_stream.changes.retention_period == 24
      && aws_kinesis_stream.changes.stream_mode_details[0].stream_mode == "PROVISIONED"
      && aws_kinesis_stream.changes.encryption_type == "KMS" && aws_kinesis_stream.changes.kms_key_id == "alias/aws/kinesis"
    )
    error_message = "by default: two provisioned shards kept 24 h, encrypted with Kinesis's AWS managed key"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.subscriber.starting_position == "TRIM_HORIZON"
      && aws_lambda_event_source_mapping.subscriber.maximum_retry_attempts == (-1)
      && aws_lambda_event_source_mapping.subscriber.batch_size == 100
      && aws_lambda_event_source_mapping.subscriber.maximum_batching_window_in_seconds == 0
    )
    error_message = "the mapping reads from the oldest event, retries a failing batch until it succeeds, 100 events a batch, no window"
  }
}

run "the_stream_and_the_mapping_follow_their_variables" {
  command = plan

  variables {
    shard_count                  = 4
    stream_retention_hours       = 48
    subscriber_batch_size        = 500
    subscriber_batching_window_s = 5
  }

  assert {
    condition     = aws_kinesis_stream.changes.shard_count == 4 && aws_kinesis_stream.changes.retention_period == 48
    error_message = "shard_count and stream_retention_hours size the stream"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.subscriber.batch_size == 500
      && aws_lambda_event_source_mapping.subscriber.maximum_batching_window_in_seconds == 5
      && aws_lambda_event_source_mapping.subscriber.maximum_retry_attempts == (-1)
    )
    error_message = "subscriber_batch_size and subscriber_batching_window_s shape the batches; retries stay unbounded"
  }
}

run "a_vpc_with_two_private_subnets_and_a_secrets_manager_endpoint_by_default" {
  command = plan

  assert {
    condition = (
      length(module.network.subnet_ids) == 2 && length(distinct(module.network.availability_zones)) == 2
      && module.network.route_table_id == null
    )
    error_message = "without subnet_ids: a created VPC with two private subnets in two zones, on the VPC's main route table"
  }

  assert {
    condition     = keys(module.network.interface_endpoint_ids) == ["secretsmanager"]
    error_message = "the subscriber reaches Secrets Manager through an interface endpoint, the network's only one"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager.from_port == 443
      && aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager.to_port == 443
      && aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager.cidr_ipv4 == null
    )
    error_message = "HTTPS goes from the subscriber's group to the endpoint's group only"
  }
}

# The network module with what the pattern gives it (above): what it plans for the subscriber.
run "the_network_has_dns_host_names_private_subnets_and_an_endpoint_for_the_subscriber_only" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name                = "cdcbench-floors-test-pollaur"
    interface_endpoints = ["secretsmanager"]
    endpoint_security_group = {
      name                      = "cdcbench-floors-test-pollaur-secretsmanager"
      description               = "Secrets Manager endpoint of cdcbench-floors-test-pollaur: HTTPS from the subscriber only"
      client_security_group_ids = ["sg-0subscriber"]
      client_description        = "HTTPS from the change-event subscriber"
    }
  }

  assert {
    condition = (
      length(aws_vpc.this) == 1 && aws_vpc.this[0].enable_dns_hostnames && aws_vpc.this[0].enable_dns_support
      && length(aws_default_security_group.this) == 1
      && length(aws_subnet.private) == 2
      && aws_subnet.private[0].availability_zone != aws_subnet.private[1].availability_zone
      && (!aws_subnet.private[0].map_public_ip_on_launch) && (!aws_subnet.private[1].map_public_ip_on_launch)
      && length(aws_route_table.private) == 0 && length(aws_vpc_endpoint.gateway) == 0
    )
    error_message = "without subnet_ids: a VPC with DNS host names, its default group denying, and two private subnets in two zones"
  }

  assert {
    condition = (
      length(aws_vpc_endpoint.interface) == 1
      && aws_vpc_endpoint.interface["secretsmanager"].vpc_endpoint_type == "Interface"
      && aws_vpc_endpoint.interface["secretsmanager"].private_dns_enabled
      && endswith(aws_vpc_endpoint.interface["secretsmanager"].service_name, ".secretsmanager")
    )
    error_message = "the subscriber reaches Secrets Manager through an interface endpoint with private DNS"
  }

  assert {
    condition = (
      aws_security_group.endpoints[0].name == "cdcbench-floors-test-pollaur-secretsmanager"
      && jsonencode([for rule in aws_security_group.endpoints[0].ingress : [rule.from_port, rule.to_port, sort(rule.security_groups), rule.cidr_blocks]])
      == jsonencode([[443, 443, ["sg-0subscriber"], null]])
    )
    error_message = "the endpoint's group admits HTTPS from the subscriber's group only"
  }
}

run "given_subnets_take_the_place_of_the_vpc" {
  command = plan

  variables {
    subnet_ids               = ["subnet-0aaa", "subnet-0bbb"]
    vpc_id                   = "vpc-0abc"
    secrets_manager_endpoint = false
  }

  assert {
    condition = (
      module.network.vpc_id == "vpc-0abc" && jsonencode(module.network.subnet_ids) == jsonencode(["subnet-0aaa", "subnet-0bbb"])
      && length(module.network.availability_zones) == 0 && length(module.network.interface_endpoint_ids) == 0
      && module.network.endpoint_security_group_id == null
    )
    error_message = "with subnet_ids and no endpoint asked for, nothing of the network is created"
  }

  assert {
    condition     = aws_security_group.subscriber.vpc_id == "vpc-0abc"
    error_message = "the subscriber's group lives in the given VPC"
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager.cidr_ipv4 == "0.0.0.0/0"
    error_message = "without an endpoint, HTTPS goes wherever the given VPC routes it"
  }
}

run "given_subnets_may_get_the_secrets_manager_endpoint" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaa", "subnet-0bbb"]
    vpc_id     = "vpc-0abc"
  }

  assert {
    condition = (
      module.network.vpc_id == "vpc-0abc" && length(module.network.availability_zones) == 0
      && keys(module.network.interface_endpoint_ids) == ["secretsmanager"]
      && aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager.cidr_ipv4 == null
    )
    error_message = "with subnet_ids, the endpoint (and HTTPS to it alone) is created in the given VPC"
  }
}

run "the_policies_name_their_resources" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  # ARNs are known only once the stream and the cluster exist: the plan takes these.
  override_resource {
    target          = aws_kinesis_stream.changes
    override_during = plan
    values = {
      arn = "arn:aws:kinesis:us-east-1:123456789012:stream/floors-test-changes"
    }
  }

  override_module {
    target = module.replica
    outputs = {
      endpoint               = "replica.cluster-x.us-east-1.rds.amazonaws.com"
      port                   = 5432
      database               = "replica"
      master_username        = "replica_admin"
      master_user_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x"
      cluster_arn            = "arn:aws:rds:us-east-1:123456789012:cluster:floors-test-replica"
      cluster_id             = "floors-test-replica"
      security_group_id      = "sg-0replica"
    }
  }

  assert {
    condition = (
      jsonencode({ for s in data.aws_iam_policy_document.subscriber.statement : s.sid => [sort(s.actions), sort(s.resources)] })
      == jsonencode({
        ReadChangeEvents = [
          ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
          ["arn:aws:kinesis:us-east-1:123456789012:stream/floors-test-changes"],
        ]
        ListStreams            = [["kinesis:ListStreams"], ["*"]]
        ReadReplicaCredentials = [["secretsmanager:GetSecretValue"], ["arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x"]]
      })
    )
    error_message = "the subscriber reads the stream and the replica's secret, nothing else"
  }

  assert {
    condition = (
      jsonencode([for s in data.aws_iam_policy_document.decrypt.statement : [s.sid, sort(s.actions), sort(s.resources)]])
      == jsonencode([["DecryptWithKey", ["kms:Decrypt"], [var.kms_key_arn]]])
    )
    error_message = "with a customer managed key, the subscriber may decrypt with it (the stream's events, the secret)"
  }

  assert {
    condition = (
      jsonencode({ for s in data.aws_iam_policy_document.publisher.statement : s.sid => [sort(s.actions), sort(s.resources)] })
      == jsonencode({
        PutChangeEvents = [
          ["kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords"],
          ["arn:aws:kinesis:us-east-1:123456789012:stream/floors-test-changes"],
        ]
        EncryptWithKey = [["kms:GenerateDataKey"], [var.kms_key_arn]]
      })
    )
    error_message = "the publisher may put events on the stream and encrypt them with the key, nothing else"
  }

  assert {
    condition     = output.replica_secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-x"
    error_message = "the replica's credentials are handed on as the secret's ARN"
  }

  assert {
    condition     = aws_kinesis_stream.changes.kms_key_id == var.kms_key_arn
    error_message = "a customer managed key encrypts the stream"
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.subscriber_to_replica.from_port == 5432
      && aws_vpc_security_group_egress_rule.subscriber_to_replica.referenced_security_group_id == "sg-0replica"
    )
    error_message = "the subscriber may reach the replica's group on the replica's port only"
  }
}

run "without_a_key_no_key_is_granted" {
  command = plan

  assert {
    condition     = length(data.aws_iam_policy_document.decrypt.statement) == 0 && length(data.aws_iam_policy_document.publisher.statement) == 1
    error_message = "AWS managed keys need no grant in the roles' policies"
  }
}

# The replica module on its own: RDS generates the master password and keeps it in Secrets
# Manager, so no password is ever in the configuration, the state or an output.
run "the_replica_password_stays_with_rds" {
  command = plan

  module {
    source = "../../modules/aurora_postgres"
  }

  variables {
    name                      = "floors-test-replica"
    vpc_id                    = "vpc-0abc"
    subnet_ids                = ["subnet-0aaa", "subnet-0bbb"]
    client_security_group_ids = ["sg-0subscriber"]
    database_name             = "replica"
  }

  assert {
    condition = (
      aws_rds_cluster.this.manage_master_user_password && aws_rds_cluster.this.master_password == null
      && aws_rds_cluster.this.master_username == "replica_admin"
    )
    error_message = "RDS manages the master password: none is set"
  }

  assert {
    condition = (
      aws_rds_cluster.this.engine == "aurora-postgresql" && aws_rds_cluster.this.engine_version == "16.4"
      && aws_rds_cluster.this.storage_encrypted && aws_rds_cluster.this.iam_database_authentication_enabled
      && aws_rds_cluster.this.enabled_cloudwatch_logs_exports == toset(["postgresql"])
      && aws_rds_cluster.this.copy_tags_to_snapshot
    )
    error_message = "an encrypted Aurora PostgreSQL 16.4 cluster exporting its log"
  }

  assert {
    condition = (
      aws_rds_cluster.this.skip_final_snapshot && (!aws_rds_cluster.this.deletion_protection)
      && aws_rds_cluster.this.final_snapshot_identifier == null
    )
    error_message = "by default a benchmark's replica is destroyed with its run, no final snapshot kept"
  }

  assert {
    condition     = (!aws_rds_cluster_instance.this.publicly_accessible) && aws_rds_cluster_instance.this.instance_class == "db.t4g.medium"
    error_message = "one private db.t4g.medium instance"
  }

  assert {
    condition = (
      jsonencode([for rule in aws_security_group.this.ingress : [rule.from_port, rule.to_port, sort(rule.security_groups), rule.cidr_blocks]])
      == jsonencode([[5432, 5432, ["sg-0subscriber"], null]])
    )
    error_message = "PostgreSQL from the client groups only"
  }
}

run "a_replica_kept_on_destroy_gets_a_final_snapshot" {
  command = plan

  module {
    source = "../../modules/aurora_postgres"
  }

  variables {
    name                = "floors-test-replica"
    vpc_id              = "vpc-0abc"
    subnet_ids          = ["subnet-0aaa", "subnet-0bbb"]
    database_name       = "replica"
    skip_final_snapshot = false
    deletion_protection = true
  }

  assert {
    condition     = aws_rds_cluster.this.final_snapshot_identifier == "floors-test-replica-final" && aws_rds_cluster.this.deletion_protection
    error_message = "skip_final_snapshot = false names a final snapshot; deletion_protection follows its variable"
  }
}

# --- what the variables refuse ---------------------------------------------------------------------

run "rejects_an_unknown_publisher" {
  command = plan

  variables {
    publisher = "eager"
  }

  expect_failures = [var.publisher]
}

run "rejects_publisher_settings_out_of_range" {
  command = plan

  variables {
    poll_interval_ms = 10
    batch_size       = 0
  }

  expect_failures = [var.poll_interval_ms, var.batch_size]
}

run "rejects_fractional_publisher_settings" {
  command = plan

  variables {
    poll_interval_ms = 100.5
    batch_size       = 10001
  }

  expect_failures = [var.poll_interval_ms, var.batch_size]
}

run "rejects_subscriber_batches_out_of_range" {
  command = plan

  variables {
    subscriber_batch_size           = 10001
    subscriber_batching_window_s    = 301
    subscriber_reserved_concurrency = -2
  }

  expect_failures = [var.subscriber_batch_size, var.subscriber_batching_window_s, var.subscriber_reserved_concurrency]
}

run "rejects_a_bad_stream_package_and_replica" {
  command = plan

  variables {
    shard_count            = 0
    stream_retention_hours = 12
    subscriber_package     = "functions/subscriber.tar.gz"
    replica_database       = "1replica"
    replica_instance_class = "t4g.medium"
    replica_engine_version = "16"
    replica_tls            = "prefer"
  }

  expect_failures = [
    var.shard_count,
    var.stream_retention_hours,
    var.subscriber_package,
    var.replica_database,
    var.replica_instance_class,
    var.replica_engine_version,
    var.replica_tls,
  ]
}

run "rejects_a_single_subnet_and_a_bad_vpc_id" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaa"]
    vpc_id     = "subnet-0aaa"
  }

  expect_failures = [var.subnet_ids, var.vpc_id]
}

run "rejects_subnets_without_their_vpc" {
  command = plan

  variables {
    subnet_ids = ["subnet-0aaa", "subnet-0bbb"]
  }

  expect_failures = [aws_security_group.subscriber]
}

# Interface endpoints in given subnets need their VPC and the client groups they admit (the
# given VPC's CIDR block is not known to the network module).
run "the_network_rejects_endpoints_in_given_subnets_without_their_vpc_or_clients" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name                = "cdcbench-floors-test-pollaur"
    subnet_ids          = ["subnet-0aaa", "subnet-0bbb"]
    interface_endpoints = ["secretsmanager"]
  }

  expect_failures = [aws_security_group.endpoints]
}

run "the_network_rejects_unknown_gateway_endpoints" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name              = "cdcbench-floors-test-pollaur"
    gateway_endpoints = ["secretsmanager"]
  }

  expect_failures = [var.gateway_endpoints]
}

run "rejects_a_created_vpc_without_the_secrets_manager_endpoint" {
  command = plan

  variables {
    secrets_manager_endpoint = false
  }

  expect_failures = [aws_security_group.subscriber]
}
