output "arn" {
  description = "Function ARN."
  value       = aws_lambda_function.this.arn
}

output "name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = module.role.arn
}

output "role_name" {
  description = "Execution role name (attach policies an event-source mapping needs before creating it)."
  value       = module.role.name
}
