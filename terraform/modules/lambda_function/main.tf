# A Python Lambda function from a zip built before apply (Terraform's offline providers have
# no archive support), with its own execution role (CloudWatch Logs for its own log group,
# plus the statements the caller grants), an encrypted log group with retention, environment
# variables encrypted with the given key, a reserved concurrency and active tracing. With
# `vpc_config` it runs in the given subnets and security groups (to reach a private database,
# say), and its role may manage the network interfaces that takes. With `fault_injection` it
# carries AWS FIS's Lambda extension (its layer, wrapping the runtime), which reads fault
# configurations where an experiment writes them, and its role may read them there.
module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "lambda.amazonaws.com"
  description = "Execution role of Lambda function ${var.name}"
  policy_name = "function"
  policy_json = data.aws_iam_policy_document.this.json
  tags        = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:benchmark deployments are short-lived; log_retention_days sets the retention
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = concat(
    var.policy_json == null ? [] : [var.policy_json],
    data.aws_iam_policy_document.vpc_access[*].json,
    data.aws_iam_policy_document.fault_configurations[*].json,
  )

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# What Lambda does as the function's role to put it in a VPC: the permissions of the AWS
# managed policy AWSLambdaVPCAccessExecutionRole (less its logs, granted above for the
# function's own log group only), inline: the same on every target, including emulators that
# do not load AWS managed policies.
data "aws_iam_policy_document" "vpc_access" {
  #checkov:skip=CKV_AWS_111:the function's network interfaces do not exist before Lambda creates them: EC2 grants these on * only
  #checkov:skip=CKV_AWS_356:the function's network interfaces do not exist before Lambda creates them: EC2 grants these on * only
  count = var.vpc_config == null ? 0 : 1

  statement {
    sid = "FunctionNetworkInterfaces"
    actions = [
      "ec2:AssignPrivateIpAddresses",
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

# What FIS's Lambda extension reads as the function's role: the fault configurations under
# its configuration location, as AWS FIS documents.
data "aws_iam_policy_document" "fault_configurations" {
  count = var.fault_injection == null ? 0 : 1

  statement {
    sid       = "ListFaultConfigurations"
    actions   = ["s3:ListBucket"]
    resources = [var.fault_injection.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.fault_injection.prefix}*"]
    }
  }

  statement {
    sid       = "ReadFaultConfigurations"
    actions   = ["s3:GetObject"]
    resources = ["${local.fault_location}*"]
  }
}

locals {
  fault_location = (
    var.fault_injection == null ? "" : "${var.fault_injection.bucket_arn}/${var.fault_injection.prefix}"
  )
  fault_environment = var.fault_injection == null ? {} : {
    AWS_FIS_CONFIGURATION_LOCATION = local.fault_location
    AWS_LAMBDA_EXEC_WRAPPER        = "/opt/aws-fis/bootstrap"
  }
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:a dead-letter queue catches asynchronous invocations only; event-source mappings retry and report failures themselves
  #checkov:skip=CKV_AWS_117:only a function reaching private resources joins a VPC (vpc_config); the others reach AWS's public endpoints, and MSK pollers run in the cluster's VPC whatever the function's
  #checkov:skip=CKV_AWS_272:packages are built from this repository at deploy time
  function_name                  = var.name
  description                    = var.description
  role                           = module.role.arn
  filename                       = var.package
  source_code_hash               = filebase64sha256(var.package)
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = ["x86_64"]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  layers                         = var.fault_injection == null ? null : [var.fault_injection.layer_arn]
  tags                           = var.tags

  environment {
    variables = merge(var.environment, local.fault_environment)
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  # The log group exists (with its retention and key) before the function can log, and the
  # role may create network interfaces before Lambda checks it can (in a VPC).
  depends_on = [aws_cloudwatch_log_group.this, module.role]
}
