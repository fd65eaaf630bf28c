variable "name" {
  description = "Endpoint identifier (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "broker" {
  description = "Bootstrap brokers, host:port[,host:port...] (an MSK cluster's TLS brokers)."
  type        = string

  validation {
    condition     = length(var.broker) > 0
    error_message = "broker must name at least one host:port."
  }
}

variable "topic" {
  description = "Topic every change goes to (the cluster must have it or auto-create topics)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,249}$", var.topic))
    error_message = "topic must be 1-249 letters, digits, dots, underscores or dashes."
  }
}

variable "security_protocol" {
  description = "How DMS reaches the brokers: ssl-encryption (TLS, no client authentication), ssl-authentication, sasl-ssl or plaintext."
  type        = string
  default     = "ssl-encryption"

  validation {
    condition     = contains(["ssl-encryption", "ssl-authentication", "sasl-ssl", "plaintext"], var.security_protocol)
    error_message = "security_protocol must be ssl-encryption, ssl-authentication, sasl-ssl or plaintext."
  }
}

variable "include_transaction_details" {
  description = "Add transaction-id, commit-timestamp and the other transaction fields to each message's metadata."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the endpoint's settings; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the endpoint."
  type        = map(string)
  default     = {}
}
