output "endpoint_arn" {
  description = "ARN of the target endpoint."
  value       = aws_dms_s3_endpoint.this.endpoint_arn
}

output "role_arn" {
  description = "ARN of the role DMS assumes to write the bucket."
  value       = module.role.arn
}
