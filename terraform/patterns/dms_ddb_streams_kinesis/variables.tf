# --- the fan-in function ----------------------------------------------------------------------

variable "fanin" {
  description = "Which fan-in function runs: \"correct\" (PutRecords keyed \"<table>#<id>\" so each row keeps its order, rejected records retried, a partial batch response for what still fails) or \"naive\" (the article's glue: one PutRecord per record under the stream record's eventID as partition key, errors logged and swallowed)."
  type        = string
  default     = "correct"

  validation {
    condition     = contains(["correct", "naive"], var.fanin)
    error_message = "fanin must be correct or naive."
  }
}

variable "fanin_package" {
  description = "Path of the fan-in function's deployment package: a zip of functions/fanin/ with its modules at the zip's root. null takes functions/fanin.zip beside this module, which cdcbench builds before apply."
  type        = string
  default     = null

  validation {
    condition     = var.fanin_package == null ? true : endswith(var.fanin_package, ".zip")
    error_message = "fanin_package must be the path of a .zip file."
  }
}

variable "fanin_batch_size" {
  description = "Most stream records per fan-in invocation (one table's shard at a time)."
  type        = number
  default     = 100

  validation {
    condition     = var.fanin_batch_size >= 1 && var.fanin_batch_size <= 10000 && floor(var.fanin_batch_size) == var.fanin_batch_size
    error_message = "fanin_batch_size must be a whole number from 1 to 10000."
  }
}

variable "fanin_batching_window_s" {
  description = "Seconds Lambda's DynamoDB Streams poller gathers records before invoking the fan-in (MaximumBatchingWindowInSeconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.fanin_batching_window_s >= 0 && var.fanin_batching_window_s <= 300 && floor(var.fanin_batching_window_s) == var.fanin_batching_window_s
    error_message = "fanin_batching_window_s must be a whole number of seconds from 0 to 300."
  }
}

variable "fanin_max_retry_attempts" {
  description = "Retries of a failing fan-in batch before its records are given up (MaximumRetryAttempts); -1 retries until the records expire from the table's stream (24 h), holding up that shard."
  type        = number
  default     = -1

  validation {
    condition     = var.fanin_max_retry_attempts >= -1 && var.fanin_max_retry_attempts <= 10000 && floor(var.fanin_max_retry_attempts) == var.fanin_max_retry_attempts
    error_message = "fanin_max_retry_attempts must be -1 or a whole number up to 10000."
  }
}

variable "fanin_reserved_concurrency" {
  description = "Concurrent fan-in invocations reserved (and allowed); -1 leaves them unreserved."
  type        = number
  default     = 10
}

# --- the Kinesis stream -----------------------------------------------------------------------

variable "shard_count" {
  description = "Shards of the Kinesis stream carrying every change (provisioned mode): above 1, only the partition key keeps a row's changes in order."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 500 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number from 1 to 500."
  }
}

variable "stream_retention_hours" {
  description = "Hours the Kinesis stream keeps each record."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760 && floor(var.stream_retention_hours) == var.stream_retention_hours
    error_message = "stream_retention_hours must be a whole number of hours from 24 to 8760."
  }
}

# --- the projector ----------------------------------------------------------------------------

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
  description = "Most Kinesis records per projector invocation (one shard at a time)."
  type        = number
  default     = 100

  validation {
    condition     = var.projector_batch_size >= 1 && var.projector_batch_size <= 10000 && floor(var.projector_batch_size) == var.projector_batch_size
    error_message = "projector_batch_size must be a whole number from 1 to 10000."
  }
}

variable "projector_batching_window_s" {
  description = "Seconds Lambda's Kinesis poller gathers records before invoking the projector (MaximumBatchingWindowInSeconds)."
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

# --- the Firehose archive ---------------------------------------------------------------------

variable "archive_buffering_size_mb" {
  description = "MB Firehose gathers before writing an archive object (BufferingHints SizeInMBs)."
  type        = number
  default     = 5

  validation {
    condition     = var.archive_buffering_size_mb >= 1 && var.archive_buffering_size_mb <= 128 && floor(var.archive_buffering_size_mb) == var.archive_buffering_size_mb
    error_message = "archive_buffering_size_mb must be a whole number from 1 to 128."
  }
}

variable "archive_buffering_interval_s" {
  description = "Seconds Firehose gathers before writing an archive object short of the size (BufferingHints IntervalInSeconds): the archive's configured floor."
  type        = number
  default     = 300

  validation {
    condition     = var.archive_buffering_interval_s >= 0 && var.archive_buffering_interval_s <= 900 && floor(var.archive_buffering_interval_s) == var.archive_buffering_interval_s
    error_message = "archive_buffering_interval_s must be a whole number of seconds from 0 to 900."
  }
}

variable "archive_deny_insecure_transport" {
  description = "Deny every request to the archive bucket made without TLS (bucket policy on aws:SecureTransport)."
  type        = bool
  default     = true
}

# --- the network ------------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Private subnets (two availability zones) for the replication instance, e.g. the source's VPC; empty creates a VPC."
  type        = list(string)
  default     = []
}
