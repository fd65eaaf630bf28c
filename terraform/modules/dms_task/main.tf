# A DMS replication task: what to move (the tables of one schema, each optionally mapped by
# an object-mapping rule), from which source endpoint to which target, how (migration type,
# task settings, limited LOB mode), started on apply unless told not to.
locals {
  # Limited LOB mode: LOB columns (text, jsonb...) travel whole up to lob_max_size_kb,
  # longer values are truncated. Merged into the given settings' TargetMetadata.
  given_settings = try(jsondecode(var.settings), {})
  settings = var.lob_max_size_kb == null ? var.settings : jsonencode(merge(local.given_settings, {
    TargetMetadata = merge(try(local.given_settings.TargetMetadata, {}), {
      SupportLobs        = true
      FullLobMode        = false
      LimitedSizeLobMode = true
      LobMaxSize         = var.lob_max_size_kb
    })
  }))

  selection_rules = [
    for i, table in var.tables : {
      rule-type   = "selection"
      rule-id     = tostring(i + 1)
      rule-name   = "include-${table}"
      rule-action = "include"
      object-locator = {
        schema-name = var.schema
        table-name  = table
      }
    }
  ]
  object_mapping_rules = [
    for i, table in var.tables : merge(var.object_mappings[table], {
      rule-type = "object-mapping"
      rule-id   = tostring(100 + i + 1)
      rule-name = "map-${table}"
      object-locator = {
        schema-name = var.schema
        table-name  = table
      }
    }) if contains(keys(var.object_mappings), table)
  ]
}

resource "aws_dms_replication_task" "this" {
  replication_task_id       = var.name
  migration_type            = var.migration_type
  replication_instance_arn  = var.replication_instance_arn
  source_endpoint_arn       = var.source_endpoint_arn
  target_endpoint_arn       = var.target_endpoint_arn
  table_mappings            = jsonencode({ rules = concat(local.selection_rules, local.object_mapping_rules) })
  replication_task_settings = local.settings
  start_replication_task    = var.start
  tags                      = var.tags
}
