output "connector_arn" {
  description = "Connector ARN."
  value       = aws_mskconnect_connector.this.arn
}

output "role_arn" {
  description = "The connector's service execution role."
  value       = module.role.arn
}
