output "endpoint" {
  description = "Host name of the cluster's writer endpoint."
  value       = aws_rds_cluster.this.endpoint
}

output "port" {
  description = "Port the cluster listens on (as RDS reports it)."
  value       = aws_rds_cluster.this.port
}

output "database" {
  description = "Name of the database created in the cluster."
  value       = aws_rds_cluster.this.database_name
}

output "master_username" {
  description = "Name of the cluster's master user (its password is in master_user_secret_arn's secret only)."
  value       = aws_rds_cluster.this.master_username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS keeps the master user's credentials in (JSON with username and password): grant secretsmanager:GetSecretValue on it, never copy the password."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}

output "cluster_arn" {
  description = "Cluster ARN."
  value       = aws_rds_cluster.this.arn
}

output "cluster_id" {
  description = "Cluster identifier."
  value       = aws_rds_cluster.this.id
}

output "security_group_id" {
  description = "Security group of the cluster (PostgreSQL from client_security_group_ids only)."
  value       = aws_security_group.this.id
}
