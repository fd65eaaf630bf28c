# An IAM role one AWS service assumes (DMS for an endpoint, Lambda for a function, MSK
# Connect for a connector) with one inline policy: what that single user may do. Names
# longer than IAM's 64 characters keep their start and a hash of the rest.
locals {
  name = length(var.name) <= 64 ? var.name : "${substr(var.name, 0, 55)}-${substr(sha1(var.name), 0, 8)}"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [var.service]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.name
  description        = var.description
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = var.policy_name
  role   = aws_iam_role.this.id
  policy = var.policy_json
}
