variable "run_id" {
  description = "Run identifier: names and tags every resource so leftovers can be found."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,47}$", var.run_id))
    error_message = "run_id must be 1-48 lowercase letters, digits or dashes."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "cdcbench"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the read model; null uses the AWS managed key."
  type        = string
  default     = null
}
