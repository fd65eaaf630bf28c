# --- the persisting function ------------------------------------------------------------------

variable "persist" {
  description = "Which function persists the queue's messages into the event table: \"correct\" (every value typed and kept, a collision-free sort key, an idempotent conditional put, failed messages reported for retry and the dead-letter queue) or \"naive\" (the article's Lambda ported line for line: falsy values dropped, the rest stringified, the second-resolution Timestamp as sort key, errors logged and swallowed)."
  type        = string
  default     = "correct"

  validation {
    condition     = contains(["correct", "naive"], var.persist)
    error_message = "persist must be correct or naive."
  }
}

variable "persist_package" {
  description = "Path of the persisting function's deployment package: a zip of functions/persist/ with its modules at the zip's root. null takes functions/persist.zip beside this module, which cdcbench builds before apply."
  type        = string
  default     = null

  validation {
    condition     = var.persist_package == null ? true : endswith(var.persist_package, ".zip")
    error_message = "persist_package must be the path of a .zip file."
  }
}

variable "batch_size" {
  description = "Most messages per invocation (BatchSize; 10 is the CDK SqsEventSource's default the article deploys). Above 10 Lambda requires a batching window of at least 1 s."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }
}

variable "batching_window_s" {
  description = "Seconds Lambda's SQS poller gathers messages before invoking the function (MaximumBatchingWindowInSeconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.batching_window_s >= 0 && var.batching_window_s <= 300 && floor(var.batching_window_s) == var.batching_window_s
    error_message = "batching_window_s must be a whole number of seconds from 0 to 300."
  }
}

variable "report_batch_item_failures" {
  description = "Let the function name the messages of a batch that failed (ReportBatchItemFailures), so only those return to the queue; false returns the whole batch on any error (the article's CDK default)."
  type        = bool
  default     = true
}

variable "function_timeout_s" {
  description = "Seconds one invocation of the persisting function may run."
  type        = number
  default     = 30

  validation {
    condition     = var.function_timeout_s >= 1 && var.function_timeout_s <= 900 && floor(var.function_timeout_s) == var.function_timeout_s
    error_message = "function_timeout_s must be a whole number of seconds from 1 to 900."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent invocations of the persisting function reserved (and allowed); -1 leaves them unreserved."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be -1 or a whole number."
  }
}

# --- the queues -------------------------------------------------------------------------------

variable "visibility_timeout_s" {
  description = "Seconds a message handed to the function stays hidden from other receives (the queue's VisibilityTimeout). AWS recommends at least six times the function timeout, so a throttled batch can be retried: a plan with less fails."
  type        = number
  default     = 180

  validation {
    condition     = var.visibility_timeout_s >= 0 && var.visibility_timeout_s <= 43200 && floor(var.visibility_timeout_s) == var.visibility_timeout_s
    error_message = "visibility_timeout_s must be a whole number of seconds from 0 to 43200 (12 hours)."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue (the redrive policy's maxReceiveCount): how often a failing message is tried."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_s" {
  description = "Seconds the queue keeps a message not yet persisted (MessageRetentionPeriod)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_s >= 60 && var.message_retention_s <= 1209600 && floor(var.message_retention_s) == var.message_retention_s
    error_message = "message_retention_s must be a whole number of seconds from 60 to 1209600 (14 days)."
  }
}

variable "dlq_retention_s" {
  description = "Seconds the dead-letter queue keeps a message. A moved message keeps its first enqueue time, so this must be at least message_retention_s (AWS's advice): a plan with less fails."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_retention_s >= 60 && var.dlq_retention_s <= 1209600 && floor(var.dlq_retention_s) == var.dlq_retention_s
    error_message = "dlq_retention_s must be a whole number of seconds from 60 to 1209600 (14 days)."
  }
}

variable "restrict_dead_letter_queue" {
  description = "Give the dead-letter queue a redrive allow policy naming the event queue, so no other queue can use it (AWS allows every queue of the account by default). Off by default: setting it adds a second wait for the queue attributes to propagate (about 25 s) to every apply."
  type        = bool
  default     = false
}

# --- the application (Terraform only hands these on) -----------------------------------------

variable "emit" {
  description = "How the harness's application emits its events; Terraform creates nothing for it and only hands it on in the application output. \"after_commit\" (the article: send each changed row's event to the queue after the database commit), \"before_commit\" (send, then commit) or \"outbox\" (write the events to an outbox table in the same transaction; a relay sends them)."
  type        = string
  default     = "after_commit"

  validation {
    condition     = contains(["after_commit", "before_commit", "outbox"], var.emit)
    error_message = "emit must be after_commit, before_commit or outbox."
  }
}

variable "emit_failure_ratio" {
  description = "Share (0 to 1) of transactions in which the harness's application process \"dies\" inside its dual-write window (between the commit and the send, or the send and the commit); Terraform only hands it on in the application output."
  type        = number
  default     = 0

  validation {
    condition     = var.emit_failure_ratio >= 0 && var.emit_failure_ratio <= 1
    error_message = "emit_failure_ratio must be a number from 0 to 1."
  }
}

variable "relay_poll_interval_ms" {
  description = "Milliseconds between the outbox relay's polls of the outbox table (emit = \"outbox\" only); Terraform only hands it on in the application output."
  type        = number
  default     = 100

  validation {
    condition     = var.relay_poll_interval_ms >= 10 && var.relay_poll_interval_ms <= 60000 && floor(var.relay_poll_interval_ms) == var.relay_poll_interval_ms
    error_message = "relay_poll_interval_ms must be a whole number of milliseconds from 10 to 60000."
  }
}
