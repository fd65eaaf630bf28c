output "replication_instance_arn" {
  description = "ARN of the replication instance."
  value       = aws_dms_replication_instance.this.replication_instance_arn
}

output "security_group_id" {
  description = "Security group of the replication instance (allow it on the source's ingress)."
  value       = aws_security_group.this.id
}

output "vpc_id" {
  description = "VPC of the replication instance."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "Subnets of the replication instance."
  value       = local.subnet_ids
}
