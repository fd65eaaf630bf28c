# A DMS Apache Kafka target endpoint: one JSON message ({data, metadata}) per row change on
# one topic, over TLS. Message keys are what the task's table mapping makes them (the
# schema.table by default; primary-key partitioning keeps each row's changes in order on
# one partition while spreading rows over all of them).
resource "aws_dms_endpoint" "this" {
  endpoint_id   = var.name
  endpoint_type = "target"
  engine_name   = "kafka"
  kms_key_arn   = var.kms_key_arn
  tags          = var.tags

  kafka_settings {
    broker                         = var.broker
    topic                          = var.topic
    security_protocol              = var.security_protocol
    message_format                 = "json"
    include_transaction_details    = var.include_transaction_details
    include_partition_value        = true
    partition_include_schema_table = true
    include_table_alter_operations = true
    include_null_and_empty         = false
  }
}
