# The variables every DMS pattern's root module declares alike: the source database and the
# replication settings. Each such root links this file (as dms_variables.tf) beside
# root_variables.tf; what differs between patterns stays in their own variables.tf.

# --- the source database ---------------------------------------------------------------------

variable "source_connection" {
  description = "The source PostgreSQL server (wal_level=logical) DMS reads: host (name or address), port, database (holding public.widgets and public.orders), username (needs REPLICATION), password (empty sends none) and ssl_mode (TLS from DMS: none, require, verify-ca or verify-full). Sensitive, as it carries the password."
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
    condition     = var.source_connection.port >= 1 && var.source_connection.port <= 65535 && floor(var.source_connection.port) == var.source_connection.port
    error_message = "source_connection.port must be a TCP port number."
  }

  validation {
    condition     = contains(["none", "require", "verify-ca", "verify-full"], var.source_connection.ssl_mode)
    error_message = "source_connection.ssl_mode must be none, require, verify-ca or verify-full."
  }
}

# --- DMS ----------------------------------------------------------------------------------------

variable "lob_max_size_kb" {
  description = "Largest text/jsonb value in KB DMS replicates whole (limited LOB mode; longer values are truncated by DMS)."
  type        = number
  default     = 400

  validation {
    condition     = var.lob_max_size_kb >= 1 && floor(var.lob_max_size_kb) == var.lob_max_size_kb
    error_message = "lob_max_size_kb must be a whole number of KB, at least 1."
  }
}

variable "replication_instance_class" {
  description = "Class of the DMS replication instance the pattern's tasks run on."
  type        = string
  default     = "dms.t3.medium"
}

variable "create_dms_vpc_role" {
  description = "Create the account's dms-vpc-role (set false where the account already has it)."
  type        = bool
  default     = true
}
