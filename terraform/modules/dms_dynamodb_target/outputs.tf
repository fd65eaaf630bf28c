output "endpoint_arn" {
  description = "ARN of the target endpoint."
  value       = aws_dms_endpoint.this.endpoint_arn
}

output "role_arn" {
  description = "ARN of the role DMS assumes to write the tables."
  value       = module.role.arn
}
