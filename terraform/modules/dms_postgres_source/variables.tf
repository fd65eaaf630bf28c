variable "name" {
  description = "Endpoint identifier (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "server_name" {
  description = "Host name or address of the PostgreSQL server."
  type        = string

  validation {
    condition     = length(var.server_name) > 0
    error_message = "server_name must not be empty."
  }
}

variable "port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432

  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a TCP port number."
  }
}

variable "database_name" {
  description = "Database holding the replicated tables."
  type        = string

  validation {
    condition     = length(var.database_name) > 0
    error_message = "database_name must not be empty."
  }
}

variable "username" {
  description = "User DMS connects as (needs the REPLICATION attribute, or rds_replication on RDS)."
  type        = string

  validation {
    condition     = length(var.username) > 0
    error_message = "username must not be empty."
  }
}

variable "password" {
  description = "Password of `username`; empty sends none (trust or peer authentication)."
  type        = string
  sensitive   = true
  default     = ""
}

variable "ssl_mode" {
  description = "TLS to the source: none, require, verify-ca or verify-full."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["none", "require", "verify-ca", "verify-full"], var.ssl_mode)
    error_message = "ssl_mode must be none, require, verify-ca or verify-full."
  }
}

variable "plugin_name" {
  description = "Logical decoding plugin DMS reads the replication slot with."
  type        = string
  default     = "test_decoding"

  validation {
    condition     = contains(["test_decoding", "pglogical", "no-preference"], var.plugin_name)
    error_message = "plugin_name must be test_decoding, pglogical or no-preference."
  }
}

variable "slot_name" {
  description = "An existing replication slot to read; null lets each task create its own."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the endpoint's connection settings; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the endpoint."
  type        = map(string)
  default     = {}
}
