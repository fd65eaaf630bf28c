output "read_model_table" {
  description = "DynamoDB table the publisher writes one item per source row into (pk = \"<table>#<id>\")."
  value       = module.read_model.name
}

output "read_model_stream_arn" {
  description = "Stream (NEW_AND_OLD_IMAGES) of the table, tailed by the harness's observer."
  value       = module.read_model.stream_arn
}

output "publisher" {
  description = "What the harness's publisher needs: variant (correct or naive), poll_interval_ms, batch_size, the tables to track, its sink (dynamodb) and the table_name to write to. Terraform deploys nothing for the publisher; it only hands these on."
  value = {
    variant          = var.publisher
    poll_interval_ms = var.poll_interval_ms
    batch_size       = var.batch_size
    tables           = var.tracked_tables
    sink             = "dynamodb"
    table_name       = module.read_model.name
  }
}

output "publisher_policy_json" {
  description = "The least-privilege IAM policy (JSON) the publisher's own identity in the data centre needs: PutItem, DeleteItem, GetItem, ConditionCheckItem and BatchWriteItem on the table, and kms:Decrypt and kms:GenerateDataKey on kms_key_arn when given."
  value       = data.aws_iam_policy_document.publisher.json
}

output "lag_floors_ms" {
  description = "Per projection, the waits (ms) a change may sit in on its way there: reported beside the measured lag. A change waits up to one poll interval for the publisher to read it, which then writes the table directly."
  value = {
    table = var.poll_interval_ms
  }
}
