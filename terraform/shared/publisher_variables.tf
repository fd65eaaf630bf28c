# The variables of the change-event publisher of the poller patterns: a Python process the
# harness runs beside the source database (the data centre's side). It polls the source's
# change tracking (net changes per key) and sends one change event per changed row to the
# pattern's sink. Terraform deploys nothing for it and only hands these on in the root's
# `publisher` output. Each poller root links this file (as publisher_variables.tf), so they
# are declared once.

variable "publisher" {
  description = "Which publisher the harness runs beside the source database; Terraform only hands it on in the publisher output. \"correct\" never advances its watermark past a change version that a source transaction still in flight may yet commit (it stops below the snapshot's xmin), so every committed change is sent; \"naive\" advances to the highest change version it read, so a transaction that took its version earlier but committed later falls below the watermark and is skipped forever."
  type        = string
  default     = "correct"

  validation {
    condition     = contains(["correct", "naive"], var.publisher)
    error_message = "publisher must be correct or naive."
  }
}

variable "poll_interval_ms" {
  description = "Milliseconds between the publisher's polls of the source's change tracking: a change waits up to this long before it is sent (the first hop's configured floor)."
  type        = number
  default     = 500

  validation {
    condition     = var.poll_interval_ms >= 50 && var.poll_interval_ms <= 60000 && floor(var.poll_interval_ms) == var.poll_interval_ms
    error_message = "poll_interval_ms must be a whole number of milliseconds from 50 to 60000."
  }
}

variable "batch_size" {
  description = "Most changed keys the publisher reads from the source's change tracking in one poll: a larger backlog takes more than one poll to send."
  type        = number
  default     = 500

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "tracked_tables" {
  description = "Source tables the publisher installs change tracking on (each with a one-column primary key)."
  type        = list(string)
  default     = ["widgets", "orders"]

  validation {
    condition     = length(var.tracked_tables) > 0 && alltrue([for t in var.tracked_tables : can(regex("^[a-z_][a-z0-9_]{0,62}$", t))])
    error_message = "tracked_tables must name at least one table, each in lowercase letters, digits and underscores."
  }
}
