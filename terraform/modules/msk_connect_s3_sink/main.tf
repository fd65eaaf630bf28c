# An MSK Connect connector running Confluent's S3 sink: the records of the given topics as
# JSON objects at `<topics_dir>/<topic>/partition=<p>/<topic>+<p>+<start offset>.json` in a
# bucket, over TLS to the brokers. The plugin archive is uploaded from a local zip (the
# confluentinc-kafka-connect-s3 package) to an artifacts bucket; the connector's role may
# only write that bucket's topics folder.
data "aws_region" "current" {}

resource "aws_s3_object" "plugin" {
  bucket = var.plugin_bucket_name
  key    = "mskconnect-plugins/${var.name}/${basename(var.plugin_package)}"
  source = var.plugin_package
  etag   = filemd5(var.plugin_package)
  tags   = var.tags
}

resource "aws_mskconnect_custom_plugin" "s3_sink" {
  name         = var.name
  description  = "Confluent S3 sink for ${var.name}"
  content_type = "ZIP"

  location {
    s3 {
      bucket_arn = var.plugin_bucket_arn
      file_key   = aws_s3_object.plugin.key
    }
  }
}

data "aws_iam_policy_document" "write" {
  statement {
    sid = "WriteTopicObjects"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${var.bucket_arn}/${var.topics_dir}/*"]
  }

  statement {
    sid       = "ListBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [var.bucket_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "EncryptObjects"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "role" {
  source      = "../service_role"
  name        = var.name
  service     = "kafkaconnect.amazonaws.com"
  description = "MSK Connect S3 sink ${var.name}"
  policy_name = "write-${var.bucket_name}"
  policy_json = data.aws_iam_policy_document.write.json
  tags        = var.tags
}

resource "aws_mskconnect_connector" "this" {
  name                 = var.name
  description          = "Archives ${join(", ", var.topics)} to s3://${var.bucket_name}/${var.topics_dir}/"
  kafkaconnect_version = var.kafkaconnect_version

  capacity {
    provisioned_capacity {
      mcu_count    = var.mcu_count
      worker_count = var.worker_count
    }
  }

  connector_configuration = merge({
    "connector.class"                = "io.confluent.connect.s3.S3SinkConnector"
    "tasks.max"                      = tostring(var.worker_count)
    "topics"                         = join(",", var.topics)
    "s3.region"                      = data.aws_region.current.name
    "s3.bucket.name"                 = var.bucket_name
    "topics.dir"                     = var.topics_dir
    "flush.size"                     = tostring(var.flush_size)
    "storage.class"                  = "io.confluent.connect.s3.storage.S3Storage"
    "format.class"                   = "io.confluent.connect.s3.format.json.JsonFormat"
    "partitioner.class"              = "io.confluent.connect.storage.partitioner.DefaultPartitioner"
    "schema.compatibility"           = "NONE"
    "key.converter"                  = "org.apache.kafka.connect.storage.StringConverter"
    "value.converter"                = "org.apache.kafka.connect.json.JsonConverter"
    "value.converter.schemas.enable" = "false"
    }, var.rotate_interval_s == 0 ? {} : {
    "rotate.schedule.interval.ms" = tostring(var.rotate_interval_s * 1000)
    "timezone"                    = "UTC"
  })

  kafka_cluster {
    apache_kafka_cluster {
      bootstrap_servers = var.bootstrap_brokers

      vpc {
        security_groups = var.security_group_ids
        subnets         = var.subnet_ids
      }
    }
  }

  kafka_cluster_client_authentication {
    authentication_type = "NONE"
  }

  kafka_cluster_encryption_in_transit {
    encryption_type = "TLS"
  }

  plugin {
    custom_plugin {
      arn      = aws_mskconnect_custom_plugin.s3_sink.arn
      revision = aws_mskconnect_custom_plugin.s3_sink.latest_revision
    }
  }

  service_execution_role_arn = module.role.arn

  depends_on = [module.role]
}
