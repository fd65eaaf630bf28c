output "endpoint_arn" {
  description = "ARN of the source endpoint."
  value       = aws_dms_endpoint.this.endpoint_arn
}

output "port" {
  description = "Port of the PostgreSQL server (for the replication instance's egress)."
  value       = nonsensitive(var.connection.port)
}
