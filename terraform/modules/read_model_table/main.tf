# A DynamoDB read model: one item per source row, keyed "<table>#<primary key>",
# on-demand, encrypted, point-in-time recoverable, with a NEW_AND_OLD_IMAGES stream.
resource "aws_dynamodb_table" "this" {
  name             = var.name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
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
