# A DMS replication task: what to move (the tables of one schema, each optionally mapped by
# an object-mapping rule), from which source endpoint to which target, how (migration type
# and task settings), started on apply unless told not to.
locals {
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
  replication_task_settings = var.settings
  start_replication_task    = var.start
  tags                      = var.tags
}
