# A DMS DynamoDB target endpoint and the role DMS assumes to write it: item writes on the
# given tables, plus the exception tables DMS keeps (awsdms_apply_exceptions,
# awsdms_full_load_exceptions), which it may create and drop itself.
locals {
  # The exception tables live beside the target tables: same partition, region and account.
  arn_parts = split(":", var.table_arns[0])
  exception_tables = [
    for t in ["awsdms_apply_exceptions", "awsdms_full_load_exceptions"] :
    "arn:${local.arn_parts[1]}:dynamodb:${local.arn_parts[3]}:${local.arn_parts[4]}:table/${t}"
  ]
}

data "aws_iam_policy_document" "write" {
  statement {
    sid = "WriteItems"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = var.table_arns
  }

  statement {
    sid = "ExceptionTables"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:CreateTable",
      "dynamodb:DeleteItem",
      "dynamodb:DeleteTable",
      "dynamodb:DescribeTable",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = local.exception_tables
  }

  statement {
    sid       = "ListTables"
    actions   = ["dynamodb:ListTables"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "UseTableKey"
      actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "dms.amazonaws.com"
  description = "DMS writes the DynamoDB target of endpoint ${var.name}"
  policy_name = "write-tables"
  policy_json = data.aws_iam_policy_document.write.json
  tags        = var.tags
}

resource "aws_dms_endpoint" "this" {
  #checkov:skip=CKV_AWS_296:a customer managed key is used when kms_key_arn is set; null keeps the AWS managed key
  endpoint_id         = var.name
  endpoint_type       = "target"
  engine_name         = "dynamodb"
  service_access_role = module.role.arn
  kms_key_arn         = var.kms_key_arn
  tags                = var.tags

  # The endpoint is only usable once the role may write.
  depends_on = [module.role]
}
