output "read_model_table" {
  description = "Name of the DynamoDB read model the application writes after commit."
  value       = module.read_model.name
}

output "read_model_stream_arn" {
  description = "Stream of the read model, tailed by the harness's observer."
  value       = module.read_model.stream_arn
}

output "lag_floors_ms" {
  description = "Per projection, the batch windows (ms) a change may wait in on its way there: reported beside the measured lag. The application writes the read model right after its commit."
  value       = { read_model = 0 }
}
