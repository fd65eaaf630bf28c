# A DynamoDB table holding one item per source row: a read model keyed "<table>#<primary
# key>" (the default), or a per-table copy keyed by the row's own primary key column.
# On-demand, encrypted, point-in-time recoverable, with a NEW_AND_OLD_IMAGES stream.
resource "aws_dynamodb_table" "this" {
  name             = var.name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = var.hash_key
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = var.hash_key
    type = var.hash_key_type
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}
