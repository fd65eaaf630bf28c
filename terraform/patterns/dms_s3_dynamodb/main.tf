# Solution 1 of "Modernize legacy databases using event sourcing and CQRS with AWS DMS":
# DMS only.
#
#   PostgreSQL --task 1 (full load + CDC)--> S3 event store (CSV, op column I/U/D)
#              --task 2 (S3 source, full load + CDC)--> DynamoDB read model
#
# Task 1 writes the event store in the layout task 2 reads back: full-load files
# `<folder>/public/<table>/LOAD*.csv` (each row led by the op I), and CDC as
# transaction-ordered files `<folder>/cdc/CDC_TXN-*.csv` with rows `op,table,schema,values`
# (PreserveTransactions). Per-table CDC files (`op,values`) name no table in their rows,
# and a DMS S3 source reads every CDC file from one folder (`cdcPath`), so the
# transaction files are the only layout the second task can replay.
#
# Task 2 maps each row to one read-model item, `pk` = "<table>#<id>", every column an
# attribute (`version` a number), and deletes the item when the row is deleted.
#
# Both tasks start on apply, at about the same time. Task 2 reads every CDC file from the
# start of the CDC folder whenever it starts, but full-loads only the LOAD files that exist
# when it starts: on an empty source (how the harness deploys) nothing can be missed; with
# rows already in the source, set start_read_model_task = false and start task 2 once
# task 1's full load has finished, as the article does by hand. (Creating task 2 after
# task 1 would not guarantee it either, and costs a minute of apply time.)
locals {
  name = replace("${var.name_prefix}-${var.run_id}-s3ddb", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "dms_s3_dynamodb"
  }

  # S3 bucket names stop at 63 characters: a long name keeps its start and a hash of the rest.
  bucket_name = (
    length("${local.name}-events") <= 63
    ? "${local.name}-events"
    : "${trimsuffix(substr(local.name, 0, 47), "-")}-${substr(sha1(local.name), 0, 8)}-events"
  )
  cdc_path = "cdc"
}

module "replication" {
  source              = "../../modules/dms_replication"
  name                = local.name
  subnet_ids          = var.subnet_ids
  instance_class      = var.replication_instance_class
  kms_key_arn         = var.kms_key_arn
  egress_ports        = distinct([443, module.source.port])
  create_dms_vpc_role = var.create_dms_vpc_role
  tags                = local.tags
}

module "event_store" {
  source      = "../../modules/event_store_bucket"
  name        = local.bucket_name
  kms_key_arn = var.kms_key_arn
  versioning  = var.event_store_versioning
  tags        = local.tags

  deny_insecure_transport = var.event_store_deny_insecure_transport
}

module "read_model" {
  source      = "../../modules/read_model_table"
  name        = "${local.name}-read-model"
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

# --- task 1: PostgreSQL -> S3 event store -----------------------------------------------------

module "source" {
  source      = "../../modules/dms_postgres_source"
  name        = "${local.name}-source"
  connection  = var.source_connection
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "event_store_target" {
  source                   = "../../modules/dms_s3_target"
  name                     = "${local.name}-event-store-target"
  bucket_name              = module.event_store.name
  bucket_arn               = module.event_store.arn
  bucket_folder            = var.event_store_folder
  cdc_path                 = local.cdc_path
  preserve_transactions    = true
  cdc_max_batch_interval   = var.cdc_max_batch_interval
  cdc_min_file_size        = var.cdc_min_file_size
  include_op_for_full_load = var.include_op_for_full_load
  kms_key_arn              = var.kms_key_arn
  tags                     = local.tags
}

module "event_store_task" {
  source                   = "../../modules/dms_task"
  name                     = "${local.name}-to-event-store"
  replication_instance_arn = module.replication.replication_instance_arn
  source_endpoint_arn      = module.source.endpoint_arn
  target_endpoint_arn      = module.event_store_target.endpoint_arn
  schema                   = local.source_schema
  tables                   = keys(local.source_tables)
  lob_max_size_kb          = var.lob_max_size_kb
  settings = jsonencode({
    # An event store is append-only: a restarted task must not empty the table folders.
    FullLoadSettings = { TargetTablePrepMode = "DO_NOTHING" }
  })
  tags = local.tags
}

# --- task 2: S3 event store -> DynamoDB read model --------------------------------------------

module "event_store_source" {
  source                    = "../../modules/dms_s3_source"
  name                      = "${local.name}-event-store-source"
  bucket_name               = module.event_store.name
  bucket_arn                = module.event_store.arn
  bucket_folder             = var.event_store_folder
  cdc_path                  = local.cdc_path
  external_table_definition = local.external_table_definition
  kms_key_arn               = var.kms_key_arn
  tags                      = local.tags
}

module "read_model_target" {
  source      = "../../modules/dms_dynamodb_target"
  name        = "${local.name}-read-model-target"
  table_arns  = [module.read_model.arn]
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

module "read_model_task" {
  source                   = "../../modules/dms_task"
  name                     = "${local.name}-to-read-model"
  replication_instance_arn = module.replication.replication_instance_arn
  source_endpoint_arn      = module.event_store_source.endpoint_arn
  target_endpoint_arn      = module.read_model_target.endpoint_arn
  schema                   = local.source_schema
  tables                   = keys(local.source_tables)
  object_mappings = {
    for table in keys(local.source_tables) : table => {
      rule-action       = "map-record-to-record"
      target-table-name = module.read_model.name
      mapping-parameters = {
        partition-key-name = "pk"
        attribute-mappings = [
          {
            target-attribute-name = "pk"
            attribute-type        = "scalar"
            attribute-sub-type    = "string"
            value                 = "${table}#$${id}"
          }
        ]
      }
    }
  }
  lob_max_size_kb = var.lob_max_size_kb
  settings = jsonencode({
    # The read model table is Terraform's (with the stream the harness reads): DMS must
    # neither drop nor recreate it.
    FullLoadSettings = { TargetTablePrepMode = "DO_NOTHING" }
  })
  start = var.start_read_model_task
  tags  = local.tags
}
