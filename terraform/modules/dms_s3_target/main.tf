# A DMS S3 target endpoint writing CSV with the op column into a folder of a bucket, and
# the role DMS assumes to write there: put and tag objects under that folder only, list
# the bucket, and use the KMS key if one encrypts the bucket.
locals {
  objects = var.bucket_folder == "" ? "${var.bucket_arn}/*" : "${var.bucket_arn}/${var.bucket_folder}/*"
}

data "aws_iam_policy_document" "write" {
  statement {
    sid       = "WriteObjects"
    actions   = ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"]
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
      sid       = "EncryptObjects"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "dms.amazonaws.com"
  description = "DMS writes the S3 target of endpoint ${var.name}"
  policy_name = "write-${var.bucket_name}"
  policy_json = data.aws_iam_policy_document.write.json
  tags        = var.tags
}

resource "aws_dms_s3_endpoint" "this" {
  #checkov:skip=CKV_AWS_298:a customer managed key is used when kms_key_arn is set; null keeps the AWS managed key
  endpoint_id             = var.name
  endpoint_type           = "target"
  bucket_name             = var.bucket_name
  bucket_folder           = var.bucket_folder == "" ? null : var.bucket_folder
  service_access_role_arn = module.role.arn
  kms_key_arn             = var.kms_key_arn

  data_format              = "csv"
  compression_type         = "NONE"
  rfc_4180                 = true
  include_op_for_full_load = var.include_op_for_full_load
  cdc_max_batch_interval   = var.cdc_max_batch_interval
  cdc_min_file_size        = var.cdc_min_file_size
  cdc_path                 = var.cdc_path
  preserve_transactions    = var.preserve_transactions
  timestamp_column_name    = var.timestamp_column_name

  encryption_mode                   = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
  server_side_encryption_kms_key_id = var.kms_key_arn

  tags = var.tags

  # The endpoint is only usable once the role may write.
  depends_on = [module.role]

  lifecycle {
    precondition {
      condition     = !var.preserve_transactions || var.cdc_path != null
      error_message = "preserve_transactions needs cdc_path."
    }
  }
}
