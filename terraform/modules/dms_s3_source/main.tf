# A DMS S3 source endpoint: the tables an external table definition describes, full-load
# files under `<bucket_folder>/<TablePath>`, CDC files (rows op,table,schema,values...)
# under `<bucket_folder>/<cdc_path>`, taken in lexical order. Its role may only read that
# folder (and list the bucket, and decrypt with the bucket's KMS key if one is given).
locals {
  role_name = length(var.name) <= 64 ? var.name : "${substr(var.name, 0, 55)}-${substr(sha1(var.name), 0, 8)}"
  objects   = var.bucket_folder == "" ? "${var.bucket_arn}/*" : "${var.bucket_arn}/${var.bucket_folder}/*"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
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

resource "aws_iam_role" "this" {
  name               = local.role_name
  description        = "DMS reads the S3 source of endpoint ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "read" {
  name   = "read-${var.bucket_name}"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.read.json
}

resource "aws_dms_s3_endpoint" "this" {
  #checkov:skip=CKV_AWS_298:a customer managed key is used when kms_key_arn is set; null keeps the AWS managed key
  endpoint_id               = var.name
  endpoint_type             = "source"
  bucket_name               = var.bucket_name
  bucket_folder             = var.bucket_folder == "" ? null : var.bucket_folder
  cdc_path                  = var.cdc_path
  external_table_definition = var.external_table_definition
  service_access_role_arn   = aws_iam_role.this.arn
  kms_key_arn               = var.kms_key_arn
  data_format               = "csv"
  compression_type          = "NONE"
  rfc_4180                  = true
  tags                      = var.tags

  # The endpoint is only usable once the role may read.
  depends_on = [aws_iam_role_policy.read]
}
