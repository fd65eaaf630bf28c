# A DMS S3 source endpoint: the tables an external table definition describes, full-load
# files under `<bucket_folder>/<TablePath>`, CDC files (rows op,table,schema,values...)
# under `<bucket_folder>/<cdc_path>`, taken in lexical order. Its role may only read that
# folder (and list the bucket, and decrypt with the bucket's KMS key if one is given).
locals {
  objects = var.bucket_folder == "" ? "${var.bucket_arn}/*" : "${var.bucket_arn}/${var.bucket_folder}/*"
}

data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ReadObjects"
    actions   = ["s3:GetObject"]
    resources = [local.objects]
  }

  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "dms.amazonaws.com"
  description = "DMS reads the S3 source of endpoint ${var.name}"
  policy_name = "read-${var.bucket_name}"
  policy_json = data.aws_iam_policy_document.read.json
  tags        = var.tags
}

resource "aws_dms_s3_endpoint" "this" {
  #checkov:skip=CKV_AWS_298:a customer managed key is used when kms_key_arn is set; null keeps the AWS managed key
  endpoint_id               = var.name
  endpoint_type             = "source"
  bucket_name               = var.bucket_name
  bucket_folder             = var.bucket_folder == "" ? null : var.bucket_folder
  cdc_path                  = var.cdc_path
  external_table_definition = var.external_table_definition
  service_access_role_arn   = module.role.arn
  kms_key_arn               = var.kms_key_arn
  data_format               = "csv"
  compression_type          = "NONE"
  rfc_4180                  = true
  tags                      = var.tags

  # The endpoint is only usable once the role may read.
  depends_on = [module.role]
}
