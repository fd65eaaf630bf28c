variable "name" {
  description = "Table name."
  type        = string
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
