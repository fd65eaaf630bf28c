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

variable "schema" {
  description = "Source schema holding the tables."
  type        = string
}

variable "tables" {
  description = "Tables the task moves (one selection rule each)."
  type        = list(string)

  validation {
    condition     = length(var.tables) > 0
    error_message = "tables must name at least one table."
  }
}

variable "object_mappings" {
  description = "Per table, the body of its object-mapping rule (rule-action, target-table-name, mapping-parameters); the module adds the rule type, id, name and object locator."
  type        = any
  default     = {}
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

variable "lob_max_size_kb" {
  description = "Replicate LOB columns in limited LOB mode, each value whole up to this many KB (TargetMetadata SupportLobs, LimitedSizeLobMode, LobMaxSize; longer values are truncated); null leaves LOB handling to settings."
  type        = number
  default     = null

  validation {
    condition     = var.lob_max_size_kb == null ? true : var.lob_max_size_kb >= 1 && floor(var.lob_max_size_kb) == var.lob_max_size_kb
    error_message = "lob_max_size_kb must be a whole number of KB, at least 1."
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
