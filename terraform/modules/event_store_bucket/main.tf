# An S3 bucket holding an append-only event store: encrypted at rest (SSE-KMS), private
# (public access blocked, object ownership enforced, a TLS-only bucket policy), optionally
# versioned, and destroyable with its objects (`force_destroy`) so a benchmark run leaves
# nothing behind.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_61:an event store keeps every event: no lifecycle rule may expire them
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket notifications: readers list the bucket
  #checkov:skip=CKV_AWS_144:cross-region replication is the account's recovery policy, not a pattern's
  #checkov:skip=CKV_AWS_18:access logs need the account's log bucket; a benchmark bucket lives one run
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count  = var.versioning ? 1 : 0
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "tls_only" {
  count = var.deny_insecure_transport ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count  = var.deny_insecure_transport ? 1 : 0
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only[0].json

  # The public access block must be in place before any bucket policy is set.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
