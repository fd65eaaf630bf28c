variable "name" {
  description = "Task identifier (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,254}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold letters, digits or single dashes, and not end with a dash."
  }
}

variable "migration_type" {
  description = "full-load, cdc or full-load-and-cdc."
  type        = string
  default     = "full-load-and-cdc"

  validation {
    condition     = contains(["full-load", "cdc", "full-load-and-cdc"], var.migration_type)
    error_message = "migration_type must be full-load, cdc or full-load-and-cdc."
  }
}

variable "replication_instance_arn" {
  description = "Replication instance that runs the task."
  type        = string
}

variable "source_endpoint_arn" {
  description = "Source endpoint."
  type        = string
}

variable "target_endpoint_arn" {
  description = "Target endpoint."
  type        = string
}

variable "table_mappings" {
  description = "Table mappings JSON ({\"rules\": [...]}: selection, transformation and object-mapping rules)."
  type        = string

  validation {
    condition     = can(jsondecode(var.table_mappings).rules)
    error_message = "table_mappings must be a JSON document with a rules list."
  }
}

variable "settings" {
  description = "Task settings JSON; null keeps the service defaults."
  type        = string
  default     = null

  validation {
    condition     = var.settings == null || can(jsondecode(var.settings))
    error_message = "settings must be a JSON document."
  }
}

variable "start" {
  description = "Start the task when it is created (and leave it running)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the task."
  type        = map(string)
  default     = {}
}
