# AWS FIS's Lambda extension on every function of a pattern, for the lambda_errors fault on
# AWS. Each pattern with Lambda functions links this file (as lambda_fault_injection.tf) and
# gives each function `fault_injection = local.fault_injection`; cdcbench sets the variable
# only when a run on AWS schedules that fault, so no other run wraps its functions.

variable "lambda_fault_injection" {
  description = "Set by cdcbench: the AWS FIS Lambda extension's layer ARN in the run's region, for AWS FIS's Lambda actions; null deploys no extension."
  type = object({
    layer_arn = string
  })
  default = null
}

module "lambda_fault_injection" {
  source               = "../../modules/lambda_fault_injection"
  count                = var.lambda_fault_injection == null ? 0 : 1
  name                 = "${local.short_name}-fis"
  layer_arn            = var.lambda_fault_injection.layer_arn
  function_name_prefix = local.short_name
  tags                 = local.tags
}

locals {
  fault_injection = one(module.lambda_fault_injection[*].function_settings)
}
