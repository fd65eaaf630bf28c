# cloudonaut's "event-based data synchronization", its serverless figure: the polling
# publisher in the data centre writes each change straight into a DynamoDB table.
#
#   source database --(change tracking: net changes per key)--> polling publisher (data centre)
#     --(internet: one put or delete per changed row)--> DynamoDB table (pk = "<table>#<id>")
#
# The publisher is the harness's Python process beside the source database (the same one
# poller_kinesis_aurora runs with Kinesis as its sink): Terraform deploys nothing for it, only
# hands on its settings (`publisher` output) and the IAM policy its own identity needs
# (`publisher_policy_json`). Change tracking gives net changes, so the table is a net-change
# feed: it may skip a key's intermediate versions, never its last. The table's stream is for
# the harness's observer; nothing of the pattern reads it.
locals {
  name = replace("${var.name_prefix}-${var.run_id}-pollddb", "/-+/", "-")
  tags = {
    "cdcbench:run-id"  = var.run_id
    "cdcbench:pattern" = "poller_dynamodb"
  }
}

module "read_model" {
  source      = "../../modules/read_model_table"
  name        = "${local.name}-read-model"
  kms_key_arn = var.kms_key_arn
  tags        = local.tags
}

# What the publisher's own identity (in the data centre) needs: write and delete items, read
# one back, and condition a write on an item (a versioned write never goes backwards), one at
# a time or in batches; and use the customer managed key the table is encrypted with, when
# there is one.
data "aws_iam_policy_document" "publisher" {
  statement {
    sid = "WriteTable"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [module.read_model.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}
