variable "name" {
  description = "Bucket name (globally unique, 3-63 lowercase letters, digits, dots or dashes)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots or dashes."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for SSE-KMS; null uses the AWS managed key (aws/s3)."
  type        = string
  default     = null
}

variable "versioning" {
  description = "Keep every version of every object (an event store's objects are never overwritten, so this only guards against deletes)."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Delete the objects with the bucket on destroy (benchmark runs must leave nothing behind)."
  type        = bool
  default     = true
}

variable "deny_insecure_transport" {
  description = "Attach a bucket policy denying every request made without TLS (aws:SecureTransport false)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
