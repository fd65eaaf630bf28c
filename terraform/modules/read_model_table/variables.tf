variable "name" {
  description = "Table name."
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute: pk for a read model, the primary key column for a per-table copy."
  type        = string
  default     = "pk"
}

variable "hash_key_type" {
  description = "Type of the partition key: S (string), N (number) or B (binary)."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "hash_key_type must be S, N or B."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for encryption at rest; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}
