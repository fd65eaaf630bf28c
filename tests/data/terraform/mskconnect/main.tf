# An MSK cluster and an MSK Connect connector running Confluent's S3 sink into a bucket: the
# fixture the local kafkaconnect API and MSK Connect engine are tested with.
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

# Region, credentials and endpoint come from the standard AWS environment.
provider "aws" {
  s3_use_path_style = true
}

variable "name" {
  description = "Name of every resource (unique per test run)."
  type        = string
}

variable "topic" {
  description = "Kafka topic the connector archives."
  type        = string
}

variable "plugin_package" {
  description = "Path of the connector plugin zip uploaded as the custom plugin."
  type        = string
}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "this" {
  cidr_block = "10.42.0.0/16"
}

resource "aws_subnet" "brokers" {
  count             = 2
  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)
  availability_zone = data.aws_availability_zones.available.names[count.index]
}

resource "aws_security_group" "kafka" {
  name   = var.name
  vpc_id = aws_vpc.this.id
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = "3.5.1"
  number_of_broker_nodes = 2

  broker_node_group_info {
    instance_type   = "kafka.t3.small"
    client_subnets  = aws_subnet.brokers[*].id
    security_groups = [aws_security_group.kafka.id]
  }

  encryption_info {
    encryption_in_transit {
      client_broker = "PLAINTEXT"
    }
  }
}

resource "aws_s3_bucket" "archive" {
  bucket        = "${var.name}-archive"
  force_destroy = true
}

# MSK Connect loads the connector's code from an S3 object. The local engine runs the S3 sink
# itself, so the test gives a placeholder for Confluent's plugin package.
resource "aws_s3_object" "plugin" {
  bucket = aws_s3_bucket.archive.bucket
  key    = "plugins/confluentinc-kafka-connect-s3.zip"
  source = var.plugin_package
  etag   = filemd5(var.plugin_package)
}

resource "aws_mskconnect_custom_plugin" "s3_sink" {
  name         = var.name
  content_type = "ZIP"

  location {
    s3 {
      bucket_arn = aws_s3_bucket.archive.arn
      file_key   = aws_s3_object.plugin.key
    }
  }
}

resource "aws_mskconnect_worker_configuration" "strings" {
  name                    = var.name
  properties_file_content = <<-PROPERTIES
    key.converter=org.apache.kafka.connect.storage.StringConverter
    value.converter=org.apache.kafka.connect.storage.StringConverter
  PROPERTIES
}

resource "aws_iam_role" "connector" {
  name = var.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "kafkaconnect.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_mskconnect_connector" "archive" {
  name                 = var.name
  kafkaconnect_version = "2.7.1"

  capacity {
    provisioned_capacity {
      mcu_count    = 1
      worker_count = 1
    }
  }

  connector_configuration = {
    "connector.class"                = "io.confluent.connect.s3.S3SinkConnector"
    "tasks.max"                      = "1"
    "topics"                         = var.topic
    "s3.region"                      = data.aws_region.current.name
    "s3.bucket.name"                 = aws_s3_bucket.archive.bucket
    "flush.size"                     = "1"
    "storage.class"                  = "io.confluent.connect.s3.storage.S3Storage"
    "format.class"                   = "io.confluent.connect.s3.format.json.JsonFormat"
    "partitioner.class"              = "io.confluent.connect.storage.partitioner.DefaultPartitioner"
    "schema.compatibility"           = "NONE"
    "value.converter"                = "org.apache.kafka.connect.json.JsonConverter"
    "value.converter.schemas.enable" = "false"
  }

  kafka_cluster {
    apache_kafka_cluster {
      bootstrap_servers = aws_msk_cluster.this.bootstrap_brokers

      vpc {
        security_groups = [aws_security_group.kafka.id]
        subnets         = aws_subnet.brokers[*].id
      }
    }
  }

  kafka_cluster_client_authentication {
    authentication_type = "NONE"
  }

  kafka_cluster_encryption_in_transit {
    encryption_type = "PLAINTEXT"
  }

  plugin {
    custom_plugin {
      arn      = aws_mskconnect_custom_plugin.s3_sink.arn
      revision = aws_mskconnect_custom_plugin.s3_sink.latest_revision
    }
  }

  worker_configuration {
    arn      = aws_mskconnect_worker_configuration.strings.arn
    revision = aws_mskconnect_worker_configuration.strings.latest_revision
  }

  service_execution_role_arn = aws_iam_role.connector.arn
}

output "connector_arn" {
  value = aws_mskconnect_connector.archive.arn
}

output "bucket" {
  value = aws_s3_bucket.archive.bucket
}
