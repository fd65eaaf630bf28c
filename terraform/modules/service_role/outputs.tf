output "arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "policy_id" {
  description = "The inline policy (depend on it: the role may act once it exists)."
  value       = aws_iam_role_policy.this.id
}
