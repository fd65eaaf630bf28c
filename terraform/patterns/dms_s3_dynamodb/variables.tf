variable "run_id" {
  description = "Run identifier: names and tags every resource so leftovers can be found."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,47}$", var.run_id))
    error_message = "run_id must be 1-48 lowercase letters, digits or dashes."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (starts with a letter: DMS identifiers must)."
  type        = string
  default     = "cdcbench"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}$", var.name_prefix))
    error_message = "name_prefix must be 1-9 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for everything stored (bucket, table, replication instance, endpoints); null uses the AWS managed keys."
  type        = string
  default     = null
}

# --- the source database ---------------------------------------------------------------------

variable "source_connection" {
  description = "The source PostgreSQL server (wal_level=logical) DMS reads: host (name or address), port, database (holding public.widgets and public.orders), username (needs REPLICATION), password (empty sends none) and ssl_mode (TLS from DMS: none, require, verify-ca or verify-full). Sensitive, as it carries the password."
  type = object({
    host     = string
    port     = optional(number, 5432)
    database = string
    username = string
    password = optional(string, "")
    ssl_mode = optional(string, "require")
  })
  sensitive = true

  validation {
    condition     = var.source_connection.port >= 1 && var.source_connection.port <= 65535 && floor(var.source_connection.port) == var.source_connection.port
    error_message = "source_connection.port must be a TCP port number."
  }

  validation {
    condition     = contains(["none", "require", "verify-ca", "verify-full"], var.source_connection.ssl_mode)
    error_message = "source_connection.ssl_mode must be none, require, verify-ca or verify-full."
  }
}

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

variable "lob_max_size_kb" {
  description = "Largest text/jsonb value in KB the tasks replicate whole (limited LOB mode; longer values are truncated by DMS)."
  type        = number
  default     = 400

  validation {
    condition     = var.lob_max_size_kb >= 1 && floor(var.lob_max_size_kb) == var.lob_max_size_kb
    error_message = "lob_max_size_kb must be a whole number of KB, at least 1."
  }
}

variable "start_read_model_task" {
  description = "Start task 2 on apply. It full-loads the LOAD files task 1 has written by then: with rows already in the source, set false and start it (StartReplicationTask) once task 1's full load has finished."
  type        = bool
  default     = true
}

# --- the replication instance ----------------------------------------------------------------

variable "replication_instance_class" {
  description = "Class of the DMS replication instance both tasks run on."
  type        = string
  default     = "dms.t3.medium"
}

variable "subnet_ids" {
  description = "Private subnets (two availability zones) for the replication instance, e.g. the source's VPC; empty creates a VPC."
  type        = list(string)
  default     = []
}

variable "create_dms_vpc_role" {
  description = "Create the account's dms-vpc-role (set false where the account already has it)."
  type        = bool
  default     = true
}
