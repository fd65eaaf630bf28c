output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service running the workers (scale it through worker_count)."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the workers' task definition (its revision included)."
  value       = aws_ecs_task_definition.this.arn
}

output "ledger_bucket" {
  description = "Bucket the workers put their ledgers into."
  value       = module.ledgers.name
}

output "ledger_prefix" {
  description = "Key prefix of the run's ledgers in ledger_bucket (ends in a slash)."
  value       = local.ledger_prefix
}

output "log_group_name" {
  description = "Log group of the workers (streams worker/locust-worker/<task id>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "task_role_arn" {
  description = "ARN of the workers' task role (s3:PutObject under ledger_prefix, nothing else)."
  value       = module.task_role.arn
}

output "execution_role_arn" {
  description = "ARN of the role ECS starts the workers with (pull the image, write the logs, read the source's secret)."
  value       = module.execution_role.arn
}

output "security_group_id" {
  description = "Security group of the workers: admit it on the source database (source_rds's client_security_group_ids) and on the master's port."
  value       = aws_security_group.this.id
}
