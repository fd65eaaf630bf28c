# A provisioned MSK cluster in private subnets: encrypted at rest (KMS) and in transit (TLS
# between clients and brokers and inside the cluster), broker logs in an encrypted log
# group, and a security group that admits Kafka clients (TLS port 9094) only from itself
# (Lambda's and MSK Connect's network interfaces use it too) and from the given groups.
resource "aws_security_group" "this" {
  name        = "${var.name}-msk"
  description = "MSK brokers of ${var.name}: Kafka over TLS from members and allowed clients"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-msk" })

  ingress {
    description = "Kafka over TLS between members (brokers, Lambda pollers, MSK Connect)"
    protocol    = "tcp"
    from_port   = 9094
    to_port     = 9094
    self        = true
  }

  dynamic "ingress" {
    for_each = length(var.client_security_group_ids) > 0 ? [1] : []
    content {
      description     = "Kafka over TLS from allowed client groups"
      protocol        = "tcp"
      from_port       = 9094
      to_port         = 9094
      security_groups = var.client_security_group_ids
    }
  }

  egress {
    description = "Kafka over TLS between members"
    protocol    = "tcp"
    from_port   = 9094
    to_port     = 9094
    self        = true
  }

  egress {
    description = "HTTPS to AWS APIs (Lambda, STS, S3) for the pollers and connectors in this group"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_cloudwatch_log_group" "brokers" {
  #checkov:skip=CKV_AWS_338:benchmark deployments are short-lived; log_retention_days sets the retention
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.number_of_broker_nodes
  enhanced_monitoring    = "DEFAULT"
  tags                   = var.tags

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size
      }
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn

    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  # DMS, Lambda's MSK pollers and MSK Connect reach the brokers over TLS inside the VPC;
  # network access is what the security group allows.
  client_authentication {
    unauthenticated = true
  }

  dynamic "configuration_info" {
    for_each = var.configuration_arn == null ? [] : [var.configuration_arn]
    content {
      arn      = configuration_info.value
      revision = var.configuration_revision
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }
}
