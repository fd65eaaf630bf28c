# The measurement floor: the application writes its row to the source database,
# commits, then writes the same row to this read model itself. No CDC in between.
locals {
  name = "${var.name_prefix}-${var.run_id}-direct"
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "direct"
  }
}

module "read_model" {
  source      = "../../modules/read_model_table"
  name        = "${local.name}-read-model"
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}
