# Solution 2 of "Modernize legacy databases using event sourcing and CQRS with AWS DMS":
# DMS and Amazon MSK.
#
#   PostgreSQL --DMS task (full load + CDC)--> Kafka topic on MSK --+--> Lambda projector --> DynamoDB read model
#                                                                   +--> MSK Connect S3 sink --> S3 event store
#
# DMS writes one JSON message ({data, metadata}) per row change, keyed by the row's primary
# key so each row's changes stay in order on one partition. The projector (`projector` =
# "correct": versioned conditional writes and tombstones; "naive": the article's
# unconditional puts that ignore the operation) writes one item per row, pk = "<table>#<id>".
# The S3 sink archives every message as JSON objects under topics/<topic>/.
#
# The Lambda package and the S3 sink plugin are zips built or fetched before apply
# (Terraform's offline providers cannot zip): `projector_package` (cdcbench builds
# functions/projector.zip, the default), `s3_sink_plugin_package`.
locals {
  name = replace("${var.name_prefix}-${var.run_id}-msklambda", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "dms_msk_lambda"
  }

  # S3 bucket names stop at 63 characters: a long name keeps its start and a hash of the rest.
  short_name = (
    length(local.name) <= 44 ? local.name
    : "${trimsuffix(substr(local.name, 0, 35), "-")}-${substr(sha1(local.name), 0, 8)}"
  )
  source_schema     = "public"
  source_tables     = ["widgets", "orders"]
  topics_dir        = "topics"
  handlers          = { correct = "projector.handler", naive = "naive.handler" }
  projector_package = coalesce(var.projector_package, "${path.module}/functions/projector.zip")
}

module "network" {
  source              = "../../modules/dms_replication"
  name                = local.name
  subnet_ids          = var.subnet_ids
  instance_class      = var.replication_instance_class
  kms_key_arn         = var.kms_key_arn
  egress_ports        = distinct([443, 9094, module.source.port])
  interface_endpoints = length(var.subnet_ids) == 0 ? ["lambda", "sts"] : []
  create_dms_vpc_role = var.create_dms_vpc_role
  tags                = local.tags
}

module "msk" {
  source                    = "../../modules/msk_cluster"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.subnet_ids
  client_security_group_ids = [module.network.security_group_id]
  instance_type             = var.msk_instance_type
  configuration_arn         = var.msk_configuration_arn
  kms_key_arn               = var.kms_key_arn
  tags                      = local.tags
}

module "read_model" {
  source      = "../../modules/read_model_table"
  name        = "${local.name}-read-model"
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

# --- DMS: PostgreSQL -> Kafka -----------------------------------------------------------------

module "source" {
  source      = "../../modules/dms_postgres_source"
  name        = "${local.name}-source"
  connection  = var.source_connection
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "topic_target" {
  source      = "../../modules/dms_kafka_target"
  name        = "${local.name}-topic-target"
  broker      = module.msk.bootstrap_brokers_tls
  topic       = var.topic
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "topic_task" {
  source                   = "../../modules/dms_task"
  name                     = "${local.name}-to-topic"
  replication_instance_arn = module.network.replication_instance_arn
  source_endpoint_arn      = module.source.endpoint_arn
  target_endpoint_arn      = module.topic_target.endpoint_arn
  schema                   = local.source_schema
  tables                   = local.source_tables
  # Key each message by the row's primary key: a row's changes stay in order on one
  # partition, and rows spread over every partition (schema.table, DMS's default key,
  # would put a whole table on one partition).
  object_mappings = {
    for table in local.source_tables : table => {
      rule-action        = "map-record-to-record"
      mapping-parameters = { partition-key-type = "primary-key" }
    }
  }
  # Kafka targets take LOBs up to a limit only (no full LOB mode).
  lob_max_size_kb = var.lob_max_size_kb
  tags            = local.tags
}

# --- Lambda: Kafka -> DynamoDB read model -----------------------------------------------------

data "aws_iam_policy_document" "projector" {
  #checkov:skip=CKV_AWS_111:the MSK pollers' network interfaces do not exist before they are created: EC2 grants these on * only
  #checkov:skip=CKV_AWS_356:the MSK pollers' network interfaces do not exist before they are created: EC2 grants these on * only
  statement {
    sid       = "WriteReadModel"
    actions   = ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [module.read_model.arn]
  }

  # What Lambda's MSK pollers do as the function's role (AWSLambdaMSKExecutionRole).
  statement {
    sid       = "ReadCluster"
    actions   = ["kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"]
    resources = [module.msk.arn]
  }

  statement {
    sid = "PollerNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
    ]
    resources = ["*"]
  }
}

module "projector" {
  source               = "../../modules/lambda_function"
  name                 = "${local.short_name}-projector"
  description          = "Projects DMS row changes from ${var.topic} into ${module.read_model.name} (${var.projector})"
  package              = local.projector_package
  handler              = local.handlers[var.projector]
  timeout              = 60
  reserved_concurrency = var.projector_reserved_concurrency
  policy_json          = data.aws_iam_policy_document.projector.json
  kms_key_arn          = var.kms_key_arn
  fault_injection      = local.fault_injection
  tags                 = local.tags
  environment = {
    READ_MODEL_TABLE = module.read_model.name
    TABLES           = join(",", local.source_tables)
  }
}

resource "aws_lambda_event_source_mapping" "projector" {
  event_source_arn = module.msk.arn
  function_name    = module.projector.arn
  topics           = [var.topic]
  # TRIM_HORIZON, not LATEST (the article's sample): the DMS task starts producing during
  # this apply, possibly before this mapping exists, and a new consumer group at LATEST
  # would skip everything already on the topic (the full load and the first changes).
  # From the beginning, nothing is missed: the projector's versioned writes make replays
  # harmless.
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.projector_batch_size
  maximum_batching_window_in_seconds = var.projector_batching_window_s

  amazon_managed_kafka_event_source_config {
    consumer_group_id = "${local.name}-projector"
  }
}

# --- MSK Connect: Kafka -> S3 event store -----------------------------------------------------

module "event_store" {
  source                  = "../../modules/event_store_bucket"
  name                    = "${local.short_name}-events"
  kms_key_arn             = var.kms_key_arn
  versioning              = var.event_store_versioning
  deny_insecure_transport = var.event_store_deny_insecure_transport
  tags                    = local.tags
}

module "artifacts" {
  source                  = "../../modules/event_store_bucket"
  name                    = "${local.short_name}-artifacts"
  kms_key_arn             = var.kms_key_arn
  deny_insecure_transport = var.event_store_deny_insecure_transport
  tags                    = local.tags
}

module "archive" {
  source             = "../../modules/msk_connect_s3_sink"
  name               = "${local.name}-archive"
  topics             = [var.topic]
  bootstrap_brokers  = module.msk.bootstrap_brokers_tls
  subnet_ids         = module.network.subnet_ids
  security_group_ids = [module.msk.security_group_id]
  bucket_name        = module.event_store.name
  bucket_arn         = module.event_store.arn
  topics_dir         = local.topics_dir
  flush_size         = var.s3_sink_flush_size
  rotate_interval_s  = var.s3_sink_rotate_interval_s
  plugin_package     = var.s3_sink_plugin_package
  plugin_bucket_name = module.artifacts.name
  plugin_bucket_arn  = module.artifacts.arn
  kms_key_arn        = var.kms_key_arn
  tags               = local.tags
}
