variable "name" {
  description = "Endpoint identifier, also the name of its IAM role (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "bucket_name" {
  description = "Bucket the target writes to."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of that bucket (scopes the role's permissions)."
  type        = string

  validation {
    condition     = startswith(var.bucket_arn, "arn:")
    error_message = "bucket_arn must be an ARN."
  }
}

variable "bucket_folder" {
  description = "Folder in the bucket that receives every file (BucketFolder); empty writes at the bucket's root."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.bucket_folder, "/") && !endswith(var.bucket_folder, "/")
    error_message = "bucket_folder takes no leading or trailing slash."
  }
}

variable "cdc_path" {
  description = "Folder under bucket_folder for CDC files (CdcPath); required with preserve_transactions."
  type        = string
  default     = null
}

variable "preserve_transactions" {
  description = "Write CDC as transaction-ordered CDC_TXN files of every table (rows op,table,schema,values...) under cdc_path: the layout an S3 source endpoint reads back."
  type        = bool
  default     = false
}

variable "cdc_max_batch_interval" {
  description = "Longest time in seconds a CDC file is held before it is written (CdcMaxBatchInterval); null keeps DMS's default."
  type        = number
  default     = null

  validation {
    condition     = var.cdc_max_batch_interval == null ? true : var.cdc_max_batch_interval >= 1 && floor(var.cdc_max_batch_interval) == var.cdc_max_batch_interval
    error_message = "cdc_max_batch_interval must be a whole number of seconds, at least 1."
  }
}

variable "cdc_min_file_size" {
  description = "Size in KB at which a CDC file is written before the interval is up (CdcMinFileSize); null keeps DMS's default."
  type        = number
  default     = null

  validation {
    condition     = var.cdc_min_file_size == null ? true : var.cdc_min_file_size >= 1 && floor(var.cdc_min_file_size) == var.cdc_min_file_size
    error_message = "cdc_min_file_size must be a whole number of KB, at least 1."
  }
}

variable "include_op_for_full_load" {
  description = "Start full-load rows with the op field I, as CDC rows start with I, U or D (IncludeOpForFullLoad)."
  type        = bool
  default     = false
}

variable "timestamp_column_name" {
  description = "Add a column of this name with the commit time (CDC) or transfer time (full load); null adds none."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the files (SSE-KMS) and the endpoint's connection settings; null uses SSE-S3 and the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the endpoint and its role."
  type        = map(string)
  default     = {}
}
