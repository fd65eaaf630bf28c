# Trek10's "DMS event bus": every source table's changes on one Kinesis stream.
#
#   PostgreSQL --DMS task--> one DynamoDB table per source table (each with a stream)
#     --DynamoDB Streams--> fan-in Lambda --> ONE Kinesis stream of {table, op, keys, old, new}
#        +--> projector Lambda --> DynamoDB read model
#        +--> Firehose --> S3 archive
#
# The per-table tables are created here, not left to DMS: DMS would create each table on
# its first write with its own provisioned capacity (the article warns of 200 RCU/WCU a
# table: cost at rest, throttling in a burst), and with no stream, so nothing could map
# them to the fan-in function until after the first change. Created up front they are
# on-demand, encrypted and streaming from the start, and their mappings are declared
# beside them. The task's object mappings name them (`target-table-name`), key = the row's
# primary key, every column an attribute.
#
# The fan-in function (`fanin` = "correct": PutRecords with partition key "<table>#<id>",
# retries of what Kinesis rejects, a partial batch response for what still fails; "naive":
# the article's glue, one PutRecord per record under its stream record's eventID as partition
# key, errors logged and swallowed) and the projector (versioned conditional writes and tombstones) are built
# from functions/ before apply (Terraform's offline providers cannot zip).
locals {
  name = replace("${var.name_prefix}-${var.run_id}-ddbkin", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "dms_ddb_streams_kinesis"
  }

  # S3 bucket names stop at 63 characters: a long name keeps its start and a hash of the rest.
  short_name = (
    length(local.name) <= 44 ? local.name
    : "${trimsuffix(substr(local.name, 0, 35), "-")}-${substr(sha1(local.name), 0, 8)}"
  )
  source_schema  = "public"
  source_tables  = ["widgets", "orders"]
  archive_prefix = "archive/"
  fanin_handlers = { correct = "fanin.handler", naive = "naive.handler" }
  fanin_package  = coalesce(var.fanin_package, "${path.module}/functions/fanin.zip")
  projector_pkg  = coalesce(var.projector_package, "${path.module}/functions/projector.zip")
  kinesis_key    = coalesce(var.kms_key_arn, "alias/aws/kinesis")
}

module "network" {
  source              = "../../modules/dms_replication"
  name                = local.name
  subnet_ids          = var.subnet_ids
  instance_class      = var.replication_instance_class
  kms_key_arn         = var.kms_key_arn
  egress_ports        = distinct([443, module.source.port])
  create_dms_vpc_role = var.create_dms_vpc_role
  tags                = local.tags
}

# What every role here needs of the customer managed key, when there is one.
data "aws_iam_policy_document" "use_key" {
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

# --- DMS: PostgreSQL -> one DynamoDB table per source table --------------------------------------

module "source" {
  source      = "../../modules/dms_postgres_source"
  name        = "${local.name}-source"
  connection  = var.source_connection
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "table" {
  source        = "../../modules/read_model_table"
  for_each      = toset(local.source_tables)
  name          = "${local.name}-${each.key}"
  hash_key      = "id"
  hash_key_type = "N"
  kms_key_arn   = var.kms_key_arn
  tags          = local.tags
}

module "tables_target" {
  source      = "../../modules/dms_dynamodb_target"
  name        = "${local.name}-tables-target"
  table_arns  = [for t in local.source_tables : module.table[t].arn]
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "tables_task" {
  source                   = "../../modules/dms_task"
  name                     = "${local.name}-to-tables"
  replication_instance_arn = module.network.replication_instance_arn
  source_endpoint_arn      = module.source.endpoint_arn
  target_endpoint_arn      = module.tables_target.endpoint_arn
  schema                   = local.source_schema
  tables                   = local.source_tables
  object_mappings = {
    for table in local.source_tables : table => {
      rule-action       = "map-record-to-record"
      target-table-name = module.table[table].name
    }
  }
  lob_max_size_kb = var.lob_max_size_kb
  settings = jsonencode({
    # The tables are Terraform's (with the streams the fan-in reads): DMS must neither drop
    # nor recreate them.
    FullLoadSettings = { TargetTablePrepMode = "DO_NOTHING" }
  })
  tags = local.tags
}

# --- the event bus: one Kinesis stream ------------------------------------------------------------

resource "aws_kinesis_stream" "bus" {
  name             = "${local.name}-bus"
  shard_count      = var.shard_count
  retention_period = var.stream_retention_hours
  encryption_type  = "KMS"
  kms_key_id       = local.kinesis_key
  tags             = local.tags

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }
}

# --- fan-in: every table's stream -> the Kinesis stream -----------------------------------------

data "aws_iam_policy_document" "fanin" {
  source_policy_documents = [data.aws_iam_policy_document.use_key.json]

  statement {
    sid       = "ReadTableStreams"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [for t in local.source_tables : module.table[t].stream_arn]
  }

  statement {
    sid       = "ListTableStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }

  statement {
    sid       = "PutOnBus"
    actions   = ["kinesis:DescribeStreamSummary", "kinesis:PutRecord", "kinesis:PutRecords"]
    resources = [aws_kinesis_stream.bus.arn]
  }
}

module "fanin" {
  source               = "../../modules/lambda_function"
  name                 = "${local.short_name}-fanin"
  description          = "Puts every change of the per-table DynamoDB streams on ${aws_kinesis_stream.bus.name} (${var.fanin})"
  package              = local.fanin_package
  handler              = local.fanin_handlers[var.fanin]
  timeout              = 60
  reserved_concurrency = var.fanin_reserved_concurrency
  policy_json          = data.aws_iam_policy_document.fanin.json
  kms_key_arn          = var.kms_key_arn
  fault_injection      = local.fault_injection
  tags                 = local.tags
  environment = {
    STREAM_NAME   = aws_kinesis_stream.bus.name
    SOURCE_TABLES = jsonencode({ for t in local.source_tables : module.table[t].name => t })
  }
}

resource "aws_lambda_event_source_mapping" "fanin" {
  for_each                           = toset(local.source_tables)
  event_source_arn                   = module.table[each.key].stream_arn
  function_name                      = module.fanin.arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.fanin_batch_size
  maximum_batching_window_in_seconds = var.fanin_batching_window_s
  maximum_retry_attempts             = var.fanin_max_retry_attempts
  # the correct function reports where a batch must resume; the naive one never fails
  function_response_types = ["ReportBatchItemFailures"]
}

# --- projector: the Kinesis stream -> the read model ----------------------------------------------

module "read_model" {
  source      = "../../modules/read_model_table"
  name        = "${local.name}-read-model"
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "projector_reads_bus" {
  source     = "../../modules/kinesis_read_policy"
  stream_arn = aws_kinesis_stream.bus.arn
  reader     = "lambda"
  sid        = "ReadBus"
}

data "aws_iam_policy_document" "projector" {
  source_policy_documents = [data.aws_iam_policy_document.use_key.json]

  dynamic "statement" {
    for_each = module.projector_reads_bus.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  statement {
    sid       = "WriteReadModel"
    actions   = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [module.read_model.arn]
  }
}

module "projector" {
  source               = "../../modules/lambda_function"
  name                 = "${local.short_name}-projector"
  description          = "Projects the changes on ${aws_kinesis_stream.bus.name} into ${module.read_model.name}"
  package              = local.projector_pkg
  handler              = "projector.handler"
  timeout              = 60
  reserved_concurrency = var.projector_reserved_concurrency
  policy_json          = data.aws_iam_policy_document.projector.json
  kms_key_arn          = var.kms_key_arn
  fault_injection      = local.fault_injection
  tags                 = local.tags
  environment = {
    READ_MODEL_TABLE = module.read_model.name
  }
}

resource "aws_lambda_event_source_mapping" "projector" {
  event_source_arn                   = aws_kinesis_stream.bus.arn
  function_name                      = module.projector.arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.projector_batch_size
  maximum_batching_window_in_seconds = var.projector_batching_window_s
}

# --- Firehose: the Kinesis stream -> the S3 archive -----------------------------------------------

module "archive" {
  source                  = "../../modules/event_store_bucket"
  name                    = "${local.short_name}-archive"
  kms_key_arn             = var.kms_key_arn
  deny_insecure_transport = var.archive_deny_insecure_transport
  tags                    = local.tags
}

module "delivery_reads_bus" {
  source     = "../../modules/kinesis_read_policy"
  stream_arn = aws_kinesis_stream.bus.arn
  reader     = "firehose"
  sid        = "ReadBus"
}

data "aws_iam_policy_document" "delivery" {
  source_policy_documents = [data.aws_iam_policy_document.use_key.json]

  dynamic "statement" {
    for_each = module.delivery_reads_bus.statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  statement {
    sid = "WriteArchive"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [module.archive.arn, "${module.archive.arn}/*"]
  }
}

module "delivery_role" {
  source      = "../../modules/service_role"
  name        = "${local.name}-delivery"
  service     = "firehose.amazonaws.com"
  description = "Firehose archives ${aws_kinesis_stream.bus.name} into ${module.archive.name}"
  policy_name = "archive"
  policy_json = data.aws_iam_policy_document.delivery.json
  tags        = local.tags
}

resource "aws_kinesis_firehose_delivery_stream" "archive" {
  #checkov:skip=CKV_AWS_240:Firehose encrypts DirectPut streams only; this one reads the KMS-encrypted Kinesis stream and writes SSE-KMS objects
  #checkov:skip=CKV_AWS_241:Firehose encrypts DirectPut streams only; this one reads the KMS-encrypted Kinesis stream and writes SSE-KMS objects
  name        = "${local.name}-archive"
  destination = "extended_s3"
  tags        = local.tags

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.bus.arn
    role_arn           = module.delivery_role.arn
  }

  extended_s3_configuration {
    role_arn            = module.delivery_role.arn
    bucket_arn          = module.archive.arn
    prefix              = local.archive_prefix
    error_output_prefix = "errors/"
    buffering_size      = var.archive_buffering_size_mb
    buffering_interval  = var.archive_buffering_interval_s
    compression_format  = "UNCOMPRESSED"
    kms_key_arn         = var.kms_key_arn
  }
}
