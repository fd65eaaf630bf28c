# --- the event store (task 1's S3 target) ------------------------------------------------------

variable "cdc_max_batch_interval" {
  description = "Seconds task 1 holds changes before writing a CDC file (CdcMaxBatchInterval): the configured lag floor of this pattern."
  type        = number
  default     = 60

  validation {
    condition     = var.cdc_max_batch_interval >= 1 && var.cdc_max_batch_interval <= 3600 && floor(var.cdc_max_batch_interval) == var.cdc_max_batch_interval
    error_message = "cdc_max_batch_interval must be a whole number of seconds from 1 to 3600."
  }
}

variable "cdc_min_file_size" {
  description = "Size in KB at which task 1 writes a CDC file before the interval is up (CdcMinFileSize)."
  type        = number
  default     = 32000

  validation {
    condition     = var.cdc_min_file_size >= 1 && floor(var.cdc_min_file_size) == var.cdc_min_file_size
    error_message = "cdc_min_file_size must be a whole number of KB, at least 1."
  }
}

variable "include_op_for_full_load" {
  description = "Lead full-load rows with the op I as CDC rows are led by I, U or D (the harness's event-store observer expects true)."
  type        = bool
  default     = true
}

variable "event_store_folder" {
  description = "Folder of the event store bucket every DMS file goes under (BucketFolder of both S3 endpoints)."
  type        = string
  default     = "events"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]+(/[a-zA-Z0-9_-]+)*$", var.event_store_folder))
    error_message = "event_store_folder must be one or more folder names separated by slashes, without leading or trailing slash."
  }
}

variable "event_store_versioning" {
  description = "Keep object versions in the event store bucket."
  type        = bool
  default     = false
}

variable "event_store_deny_insecure_transport" {
  description = "Deny every request to the event store bucket made without TLS (bucket policy on aws:SecureTransport)."
  type        = bool
  default     = true
}

variable "start_read_model_task" {
  description = "Start task 2 on apply. It full-loads the LOAD files task 1 has written by then: with rows already in the source, set false and start it (StartReplicationTask) once task 1's full load has finished."
  type        = bool
  default     = true
}

# --- the network ------------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Private subnets (two availability zones) for the replication instance, e.g. the source's VPC; empty creates a VPC."
  type        = list(string)
  default     = []
}
