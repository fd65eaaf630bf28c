# A DMS replication task: what to move (table mappings), from which source endpoint to
# which target, how (migration type and task settings), started on apply unless told not to.
resource "aws_dms_replication_task" "this" {
  replication_task_id       = var.name
  migration_type            = var.migration_type
  replication_instance_arn  = var.replication_instance_arn
  source_endpoint_arn       = var.source_endpoint_arn
  target_endpoint_arn       = var.target_endpoint_arn
  table_mappings            = var.table_mappings
  replication_task_settings = var.settings
  start_replication_task    = var.start
  tags                      = var.tags
}
