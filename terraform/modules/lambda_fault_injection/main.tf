# What AWS FIS's Lambda actions (aws:lambda:invocation-error and its kin) need of a pattern:
# a bucket where an experiment writes its fault configuration and the FIS Lambda extension
# on each function reads it (under FisConfigs/), and the role experiments run as. The role
# bears the bucket's name: that is how cdcbench finds it from a function's configuration
# location. The bucket is encrypted with the AWS managed key, which both the role and the
# functions' roles use through S3 without a grant of their own; the bucket goes with the
# deployment, with whatever configurations are left in it.
data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  prefix = "FisConfigs/"
  # known when planned (a bucket's ARN follows from its name): so is each function's
  # environment naming it
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.name}"
}

module "bucket" {
  source        = "../event_store_bucket"
  name          = var.name
  kms_key_arn   = null
  force_destroy = true
  tags          = var.tags
}

# What an experiment does as this role: find the functions it targets and write their
# fault configuration where their extension reads it.
data "aws_iam_policy_document" "experiment" {
  statement {
    sid       = "ReadTargetFunctions"
    actions   = ["lambda:GetFunction"]
    resources = ["arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.function_name_prefix}*"]
  }

  statement {
    sid       = "ResolveTargets"
    actions   = ["tag:GetResources"]
    resources = ["*"]
  }

  statement {
    sid       = "ListFaultConfigurations"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.prefix}*"]
    }
  }

  statement {
    sid       = "WriteFaultConfigurations"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.bucket_arn}/${local.prefix}*"]
  }
}

module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "fis.amazonaws.com"
  description = "AWS FIS experiments injecting faults into functions named ${var.function_name_prefix}*"
  policy_name = "experiment"
  policy_json = data.aws_iam_policy_document.experiment.json
  tags        = var.tags
}
