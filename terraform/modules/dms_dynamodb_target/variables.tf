variable "name" {
  description = "Endpoint identifier, also the name of its IAM role (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "table_arns" {
  description = "ARNs of the tables the task's object mappings write (the role may write nothing else)."
  type        = list(string)

  validation {
    condition     = length(var.table_arns) > 0 && alltrue([for a in var.table_arns : startswith(a, "arn:")])
    error_message = "table_arns must hold at least one table ARN."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key the tables are encrypted with, and the endpoint's connection settings; null for the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the endpoint and its role."
  type        = map(string)
  default     = {}
}
