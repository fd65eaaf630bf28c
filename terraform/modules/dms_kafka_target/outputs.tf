output "endpoint_arn" {
  description = "ARN of the target endpoint."
  value       = aws_dms_endpoint.this.endpoint_arn
}
