output "function_settings" {
  description = "What each function takes as its lambda_function module's fault_injection."
  value = {
    layer_arn  = var.layer_arn
    bucket_arn = local.bucket_arn
    prefix     = local.prefix
  }
}

output "role_arn" {
  description = "The role AWS FIS experiments run as."
  value       = module.role.arn
}
