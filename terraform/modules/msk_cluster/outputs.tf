output "arn" {
  description = "Cluster ARN."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_tls" {
  description = "Brokers for TLS clients (host:9094,...)."
  value       = aws_msk_cluster.this.bootstrap_brokers_tls
}

output "security_group_id" {
  description = "Security group of the brokers; Lambda's pollers and MSK Connect join it."
  value       = aws_security_group.this.id
}
