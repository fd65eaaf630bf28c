variable "name" {
  description = "Endpoint identifier, also the name of its IAM role (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "bucket_name" {
  description = "Bucket the source reads."
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
  description = "Folder in the bucket holding the table folders and the CDC folder (BucketFolder); empty reads from the bucket's root."
  type        = string
  default     = ""

  validation {
    condition     = !startswith(var.bucket_folder, "/") && !endswith(var.bucket_folder, "/")
    error_message = "bucket_folder takes no leading or trailing slash."
  }
}

variable "cdc_path" {
  description = "Folder under bucket_folder whose files are the CDC changes (CdcPath); null reads full-load files only."
  type        = string
  default     = null
}

variable "external_table_definition" {
  description = "External table definition JSON: {TableCount, Tables: [{TableName, TablePath, TableOwner, TableColumns, TableColumnsTotal}]}."
  type        = string

  validation {
    condition     = can(jsondecode(var.external_table_definition).Tables) && length(var.external_table_definition) <= 2097152
    error_message = "external_table_definition must be a JSON document with Tables, at most 2 MB."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key the bucket's objects are encrypted with (and the endpoint's connection settings); null when SSE-S3 or the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the endpoint and its role."
  type        = map(string)
  default     = {}
}
