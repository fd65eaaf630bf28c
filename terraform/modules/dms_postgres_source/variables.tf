variable "name" {
  description = "Endpoint identifier (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "connection" {
  description = "The PostgreSQL server: host (name or address), port, database (holding the replicated tables), username (needs the REPLICATION attribute, or rds_replication on RDS), password (empty sends none: trust or peer authentication) and ssl_mode (TLS to the source: none, require, verify-ca or verify-full). Sensitive, as it carries the password."
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
    condition     = length(var.connection.host) > 0
    error_message = "connection.host must not be empty."
  }

  validation {
    condition     = var.connection.port >= 1 && var.connection.port <= 65535 && floor(var.connection.port) == var.connection.port
    error_message = "connection.port must be a TCP port number."
  }

  validation {
    condition     = length(var.connection.database) > 0
    error_message = "connection.database must not be empty."
  }

  validation {
    condition     = length(var.connection.username) > 0
    error_message = "connection.username must not be empty."
  }

  validation {
    condition     = contains(["none", "require", "verify-ca", "verify-full"], var.connection.ssl_mode)
    error_message = "connection.ssl_mode must be none, require, verify-ca or verify-full."
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
