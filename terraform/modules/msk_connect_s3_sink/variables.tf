variable "name" {
  description = "Connector and plugin name, also its role's name (letters, digits, dashes)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,127}$", var.name))
    error_message = "name must be 1-128 letters, digits or dashes."
  }
}

variable "topics" {
  description = "Topics to archive."
  type        = list(string)

  validation {
    condition     = length(var.topics) > 0
    error_message = "topics must name at least one topic."
  }
}

variable "bootstrap_brokers" {
  description = "TLS bootstrap brokers of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets the connector's workers run in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the workers (they must reach the brokers on 9094 and S3 on 443)."
  type        = list(string)
}

variable "bucket_name" {
  description = "Bucket the sink writes."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of that bucket (scopes the role's permissions)."
  type        = string
}

variable "topics_dir" {
  description = "Folder of the bucket the sink writes under (topics.dir)."
  type        = string
  default     = "topics"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]+(/[a-zA-Z0-9_-]+)*$", var.topics_dir))
    error_message = "topics_dir must be folder names separated by slashes, without leading or trailing slash."
  }
}

variable "flush_size" {
  description = "Records per S3 object (flush.size): 1 writes every record at once."
  type        = number
  default     = 1

  validation {
    condition     = var.flush_size >= 1 && floor(var.flush_size) == var.flush_size
    error_message = "flush_size must be a whole number, at least 1."
  }
}

variable "rotate_interval_s" {
  description = "Seconds of wall clock after which an open object is written even short of flush_size (rotate.schedule.interval.ms, UTC); 0 waits for flush_size records."
  type        = number
  default     = 0

  validation {
    condition     = var.rotate_interval_s >= 0 && floor(var.rotate_interval_s) == var.rotate_interval_s
    error_message = "rotate_interval_s must be a whole number of seconds, at least 0."
  }
}

variable "plugin_package" {
  description = "Path of the Confluent S3 sink plugin zip (confluentinc-kafka-connect-s3) to upload."
  type        = string

  validation {
    condition     = endswith(var.plugin_package, ".zip")
    error_message = "plugin_package must be the path of a .zip file."
  }
}

variable "plugin_bucket_name" {
  description = "Bucket the plugin archive is uploaded to."
  type        = string
}

variable "plugin_bucket_arn" {
  description = "ARN of that bucket."
  type        = string
}

variable "kafkaconnect_version" {
  description = "Kafka Connect version of the workers."
  type        = string
  default     = "2.7.1"
}

variable "mcu_count" {
  description = "MSK Connect units per worker (1, 2, 4 or 8)."
  type        = number
  default     = 1

  validation {
    condition     = contains([1, 2, 4, 8], var.mcu_count)
    error_message = "mcu_count must be 1, 2, 4 or 8."
  }
}

variable "worker_count" {
  description = "Workers (and tasks.max)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 10 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number from 1 to 10."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key the bucket is encrypted with; null for SSE-S3 or the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the plugin object and the role."
  type        = map(string)
  default     = {}
}
