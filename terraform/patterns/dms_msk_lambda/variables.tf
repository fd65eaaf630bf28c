# --- Kafka and the projector -----------------------------------------------------------------

variable "topic" {
  description = "Kafka topic DMS writes every change to (the projector and the S3 sink read it)."
  type        = string
  default     = "cdc.changes"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,249}$", var.topic))
    error_message = "topic must be 1-249 letters, digits, dots, underscores or dashes."
  }
}

variable "projector" {
  description = "Which projector runs: \"correct\" (versioned conditional writes, tombstones) or \"naive\" (the article's unconditional puts that ignore the operation)."
  type        = string
  default     = "correct"

  validation {
    condition     = contains(["correct", "naive"], var.projector)
    error_message = "projector must be correct or naive."
  }
}

variable "projector_package" {
  description = "Path of the projector's deployment package: a zip of functions/projector/ with its modules at the zip's root. null takes functions/projector.zip beside this module, which cdcbench builds before apply."
  type        = string
  default     = null

  validation {
    condition     = var.projector_package == null ? true : endswith(var.projector_package, ".zip")
    error_message = "projector_package must be the path of a .zip file."
  }
}

variable "projector_batch_size" {
  description = "Most records per projector invocation."
  type        = number
  default     = 100

  validation {
    condition     = var.projector_batch_size >= 1 && var.projector_batch_size <= 10000 && floor(var.projector_batch_size) == var.projector_batch_size
    error_message = "projector_batch_size must be a whole number from 1 to 10000."
  }
}

variable "projector_batching_window_s" {
  description = "Seconds Lambda's MSK poller gathers records before invoking (MaximumBatchingWindowInSeconds; below 1 s in effect when unset on AWS)."
  type        = number
  default     = 0

  validation {
    condition     = var.projector_batching_window_s >= 0 && var.projector_batching_window_s <= 300 && floor(var.projector_batching_window_s) == var.projector_batching_window_s
    error_message = "projector_batching_window_s must be a whole number of seconds from 0 to 300."
  }
}

variable "projector_reserved_concurrency" {
  description = "Concurrent projector invocations reserved (and allowed); -1 leaves them unreserved."
  type        = number
  default     = 10
}

# --- the event store (MSK Connect S3 sink) -------------------------------------------------------

variable "s3_sink_plugin_package" {
  description = "Path of the Confluent S3 sink connector plugin zip (confluentinc-kafka-connect-s3) MSK Connect runs."
  type        = string

  validation {
    condition     = endswith(var.s3_sink_plugin_package, ".zip")
    error_message = "s3_sink_plugin_package must be the path of a .zip file."
  }
}

variable "s3_sink_flush_size" {
  description = "Records per event store object (flush.size; 1 as in the article writes each record at once)."
  type        = number
  default     = 1

  validation {
    condition     = var.s3_sink_flush_size >= 1 && floor(var.s3_sink_flush_size) == var.s3_sink_flush_size
    error_message = "s3_sink_flush_size must be a whole number, at least 1."
  }
}

variable "s3_sink_rotate_interval_s" {
  description = "Seconds after which the sink writes an object short of s3_sink_flush_size records (rotate.schedule.interval.ms); needed when the flush size is above 1, or a partition's last records wait for more forever."
  type        = number
  default     = 0

  validation {
    condition     = var.s3_sink_rotate_interval_s >= 0 && floor(var.s3_sink_rotate_interval_s) == var.s3_sink_rotate_interval_s
    error_message = "s3_sink_rotate_interval_s must be a whole number of seconds, at least 0."
  }

  validation {
    condition     = var.s3_sink_flush_size == 1 || var.s3_sink_rotate_interval_s > 0
    error_message = "s3_sink_flush_size above 1 needs s3_sink_rotate_interval_s above 0, or each partition's last records are never written."
  }
}

variable "event_store_versioning" {
  description = "Keep object versions in the event store bucket."
  type        = bool
  default     = false
}

variable "event_store_deny_insecure_transport" {
  description = "Deny every request to the pattern's buckets made without TLS (bucket policy on aws:SecureTransport)."
  type        = bool
  default     = true
}

# --- MSK and the network ---------------------------------------------------------------------------

variable "msk_instance_type" {
  description = "Broker instance type of the MSK cluster."
  type        = string
  default     = "kafka.t3.small"
}

variable "msk_configuration_arn" {
  description = "MSK configuration for the cluster; on AWS it must let DMS create its topic (auto.create.topics.enable=true) unless the topic is created beforehand. null keeps MSK's defaults."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets (two availability zones) for DMS, MSK and MSK Connect; empty creates a VPC (with lambda and sts interface endpoints for the MSK pollers)."
  type        = list(string)
  default     = []
}
