# cloudonaut's "event-based data synchronization": a replica in AWS kept in step with a
# database in the data centre, one change event per changed row.
#
#   source database --(change tracking: net changes per key)--> polling publisher (data centre)
#     --(internet: one change event per changed row, keyed by the row)--> Kinesis stream
#     --Lambda's Kinesis poller--> change-event subscriber (Lambda, in the VPC)
#     --(INSERT / UPDATE / DELETE)--> Aurora PostgreSQL replica
#
# The publisher is the harness's Python process beside the source database: Terraform
# deploys nothing for it, only hands on its settings (`publisher` output) and the IAM policy
# its own identity needs (`publisher_policy_json`). Change tracking gives net changes, so the
# replica is a net-change feed: it may skip a key's intermediate versions, never its last.
#
# The subscriber runs in the replica's private subnets. It reads the replica's credentials
# from the secret RDS manages (the password is never in Terraform's state or outputs) through
# an interface endpoint for Secrets Manager, so the subnets need no NAT gateway; it needs
# nothing else from AWS (Lambda's pollers read Kinesis outside the function's VPC). It is
# built from functions/subscriber/ before apply (Terraform's offline providers cannot zip).
locals {
  name = replace("${var.name_prefix}-${var.run_id}-pollaur", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "poller_kinesis_aurora"
  }

  # Lambda and IAM role names stop at 64 characters, RDS identifiers at 63: a long name keeps
  # its start and a hash.
  short_name = (
    length(local.name) <= 44 ? local.name
    : "${trimsuffix(substr(local.name, 0, 35), "-")}-${substr(sha1(local.name), 0, 8)}"
  )
  subscriber_package = coalesce(var.subscriber_package, "${path.module}/functions/subscriber.zip")
  kinesis_key        = coalesce(var.kms_key_arn, "alias/aws/kinesis")

  create_vpc = length(var.subnet_ids) == 0
  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.subnet_ids
}

# What every role here needs of the customer managed key, when there is one: the stream's
# events and the replica's secret are encrypted with it.
data "aws_iam_policy_document" "decrypt" {
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptWithKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

# --- the network (a VPC only without subnet_ids) ------------------------------------------------

# Two zones, as an Aurora subnet group requires. No route table of their own: the VPC's main
# one routes inside the VPC only, and nothing here leaves it (no internet or NAT gateway). The
# subscriber reaches Secrets Manager through an interface endpoint with private DNS (which
# turns on the created VPC's DNS host names), open to the subscriber's group alone.
module "network" {
  source              = "../../modules/private_network"
  name                = local.name
  subnet_ids          = var.subnet_ids
  vpc_id              = var.vpc_id
  interface_endpoints = var.secrets_manager_endpoint ? ["secretsmanager"] : []
  endpoint_security_group = {
    name                      = "${local.name}-secretsmanager"
    description               = "Secrets Manager endpoint of ${local.name}: HTTPS from the subscriber only"
    client_security_group_ids = [aws_security_group.subscriber.id]
    client_description        = "HTTPS from the change-event subscriber"
  }
  tags = local.tags
}

# The subscriber's own group. Its egress rules are resources of their own: inline, they would
# name the replica's group, which admits this one (a cycle).
resource "aws_security_group" "subscriber" {
  #checkov:skip=CKV2_AWS_5:attached to the subscriber function through module.subscriber's vpc_config, which checkov's graph does not follow
  name        = "${local.name}-subscriber"
  description = "Change-event subscriber of ${local.name}: PostgreSQL to the replica, HTTPS to Secrets Manager"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${local.name}-subscriber" })

  lifecycle {
    precondition {
      condition     = local.create_vpc || var.vpc_id != null
      error_message = "vpc_id must name the VPC of subnet_ids: the replica's and the subscriber's security groups are created in it."
    }

    precondition {
      condition     = !local.create_vpc || var.secrets_manager_endpoint
      error_message = "secrets_manager_endpoint must be true without subnet_ids: the created VPC has no other way to Secrets Manager, where the subscriber reads the replica's credentials."
    }
  }
}

resource "aws_vpc_security_group_egress_rule" "subscriber_to_replica" {
  security_group_id            = aws_security_group.subscriber.id
  description                  = "PostgreSQL to the replica"
  ip_protocol                  = "tcp"
  from_port                    = module.replica.port
  to_port                      = module.replica.port
  referenced_security_group_id = module.replica.security_group_id
  tags                         = local.tags
}

# To the endpoint's group; without the endpoint, to wherever the given VPC routes HTTPS (its
# own endpoint or a NAT gateway).
resource "aws_vpc_security_group_egress_rule" "subscriber_to_secrets_manager" {
  security_group_id            = aws_security_group.subscriber.id
  description                  = "HTTPS to Secrets Manager"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = module.network.endpoint_security_group_id
  cidr_ipv4                    = var.secrets_manager_endpoint ? null : "0.0.0.0/0"
  tags                         = local.tags
}

# --- the change events: one Kinesis stream ------------------------------------------------------

resource "aws_kinesis_stream" "changes" {
  name             = "${local.name}-changes"
  shard_count      = var.shard_count
  retention_period = var.stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = local.kinesis_key
  tags             = local.tags

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }
}

# What the publisher's own identity (in the data centre) needs: put change events on the
# stream, and encrypt them with the customer managed key when there is one.
data "aws_iam_policy_document" "publisher" {
  statement {
    sid       = "PutChangeEvents"
    actions   = ["kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords"]
    resources = [aws_kinesis_stream.changes.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "EncryptWithKey"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

# --- the replica ----------------------------------------------------------------------------------

module "replica" {
  source                    = "../../modules/aurora_postgres"
  name                      = "${local.short_name}-replica"
  vpc_id                    = local.vpc_id
  subnet_ids                = local.subnet_ids
  client_security_group_ids = concat([aws_security_group.subscriber.id], var.replica_client_security_group_ids)
  database_name             = var.replica_database
  engine_version            = var.replica_engine_version
  instance_class            = var.replica_instance_class
  kms_key_arn               = var.kms_key_arn
  tags                      = local.tags
}

# --- the subscriber: the stream -> the replica ----------------------------------------------------

module "read_changes" {
  source     = "../../modules/kinesis_read_policy"
  stream_arn = aws_kinesis_stream.changes.arn
  reader     = "lambda"
  sid        = "ReadChangeEvents"
}

data "aws_iam_policy_document" "subscriber" {
  source_policy_documents = [data.aws_iam_policy_document.decrypt.json]

  dynamic "statement" {
    for_each = module.read_changes.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  statement {
    sid       = "ReadReplicaCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [module.replica.master_user_secret_arn]
  }
}

module "subscriber" {
  source               = "../../modules/lambda_function"
  name                 = "${local.short_name}-subscriber"
  description          = "Applies the change events of ${aws_kinesis_stream.changes.name} to the replica ${module.replica.cluster_id}"
  package              = local.subscriber_package
  handler              = "subscriber.handler"
  timeout              = 60
  reserved_concurrency = var.subscriber_reserved_concurrency
  policy_json          = data.aws_iam_policy_document.subscriber.json
  kms_key_arn          = var.kms_key_arn
  fault_injection      = local.fault_injection
  tags                 = local.tags
  vpc_config = {
    subnet_ids         = local.subnet_ids
    security_group_ids = [aws_security_group.subscriber.id]
  }
  environment = {
    REPLICA_HOST       = module.replica.endpoint
    REPLICA_PORT       = tostring(module.replica.port)
    REPLICA_DATABASE   = module.replica.database
    REPLICA_SECRET_ARN = module.replica.master_user_secret_arn
    REPLICA_TLS        = var.replica_tls
  }
}

resource "aws_lambda_event_source_mapping" "subscriber" {
  event_source_arn = aws_kinesis_stream.changes.arn
  function_name    = module.subscriber.arn
  # From the oldest event kept: whatever the publisher sent before the mapping existed is
  # applied too (the subscriber's versioned writes make a replay harmless).
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.subscriber_batch_size
  maximum_batching_window_in_seconds = var.subscriber_batching_window_s
  # A failing batch holds its shard until it succeeds (or its events leave the stream after
  # stream_retention_hours): a replica must apply each key's changes in order, so later
  # events of the shard must not pass a batch that failed. One batch per shard at a time
  # (the default parallelization factor, 1) keeps that order too.
  maximum_retry_attempts = -1

  # The mapping invokes at once: the replica's instance, the subscriber's network path to it
  # and to Secrets Manager exist first, so the first batches do not fail for want of them.
  depends_on = [
    module.replica,
    module.network, # the Secrets Manager endpoint
    aws_vpc_security_group_egress_rule.subscriber_to_replica,
    aws_vpc_security_group_egress_rule.subscriber_to_secrets_manager,
  ]
}
