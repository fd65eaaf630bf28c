output "address" {
  description = "Host name of the instance (reachable from inside its VPC)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port the instance listens on (as RDS reports it)."
  value       = aws_db_instance.this.port
}

output "database" {
  description = "Name of the database created in the instance."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Name of the instance's master user (its password is in master_user_secret_arn's secret only)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS keeps the master user's credentials in (JSON with username and password): grant secretsmanager:GetSecretValue on it, never copy the password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance (PostgreSQL from client_cidr_blocks and client_security_group_ids only)."
  value       = aws_security_group.this.id
}

output "dsn_without_password" {
  description = "libpq keyword/value connection string of the source (host, port, dbname, user, sslmode=require) without the password: clients add it from master_user_secret_arn's secret (PGPASSWORD, say)."
  value       = "host=${aws_db_instance.this.address} port=${aws_db_instance.this.port} dbname=${aws_db_instance.this.db_name} user=${aws_db_instance.this.username} sslmode=require"
}

output "instance_arn" {
  description = "Instance ARN."
  value       = aws_db_instance.this.arn
}

output "instance_id" {
  description = "Instance identifier."
  value       = aws_db_instance.this.identifier
}
