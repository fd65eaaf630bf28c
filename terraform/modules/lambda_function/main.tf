# A Python Lambda function from a zip built before apply (Terraform's offline providers have
# no archive support), with its own execution role (CloudWatch Logs for its own log group,
# plus the statements the caller grants), an encrypted log group with retention, environment
# variables encrypted with the given key, a reserved concurrency and active tracing.
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
  source_policy_documents = var.policy_json == null ? [] : [var.policy_json]

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

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:a dead-letter queue catches asynchronous invocations only; event-source mappings retry and report failures themselves
  #checkov:skip=CKV_AWS_117:the functions reach DynamoDB's public endpoint; MSK pollers run in the cluster's VPC whatever the function's
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
  tags                           = var.tags

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  # The log group exists (with its retention and key) before the function can log.
  depends_on = [aws_cloudwatch_log_group.this, module.role]
}
