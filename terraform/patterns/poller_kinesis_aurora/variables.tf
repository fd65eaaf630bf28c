# The publisher's variables (publisher, poll_interval_ms, batch_size) are in
# publisher_variables.tf, shared with poller_dynamodb; run_id, name_prefix and kms_key_arn in
# shared_variables.tf.

# --- the Kinesis stream -----------------------------------------------------------------------

variable "shard_count" {
  description = "Shards of the Kinesis stream carrying the change events (provisioned mode). The publisher keys each event by its row, so a row's changes stay in order on one shard; more shards apply more rows in parallel (one subscriber batch per shard at a time)."
  type        = number
  default     = 2

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 500 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number from 1 to 500."
  }
}

variable "stream_retention_hours" {
  description = "Hours the Kinesis stream keeps each change event: also how long a failing batch can hold its shard before its events expire unapplied."
  type        = number
  default     = 24

  validation {
    condition     = var.stream_retention_hours >= 24 && var.stream_retention_hours <= 8760 && floor(var.stream_retention_hours) == var.stream_retention_hours
    error_message = "stream_retention_hours must be a whole number of hours from 24 to 8760."
  }
}

# --- the change-event subscriber --------------------------------------------------------------

variable "subscriber_package" {
  description = "Path of the subscriber's deployment package: a zip of functions/subscriber/ (and its requirements) with its modules at the zip's root. null takes functions/subscriber.zip beside this module, which cdcbench builds before apply."
  type        = string
  default     = null

  validation {
    condition     = var.subscriber_package == null ? true : endswith(var.subscriber_package, ".zip")
    error_message = "subscriber_package must be the path of a .zip file."
  }
}

variable "subscriber_batch_size" {
  description = "Most change events per subscriber invocation (one shard at a time): one batch is applied to the replica as one transaction."
  type        = number
  default     = 100

  validation {
    condition     = var.subscriber_batch_size >= 1 && var.subscriber_batch_size <= 10000 && floor(var.subscriber_batch_size) == var.subscriber_batch_size
    error_message = "subscriber_batch_size must be a whole number from 1 to 10000."
  }
}

variable "subscriber_batching_window_s" {
  description = "Seconds Lambda's Kinesis poller gathers change events before invoking the subscriber (MaximumBatchingWindowInSeconds)."
  type        = number
  default     = 0

  validation {
    condition     = var.subscriber_batching_window_s >= 0 && var.subscriber_batching_window_s <= 300 && floor(var.subscriber_batching_window_s) == var.subscriber_batching_window_s
    error_message = "subscriber_batching_window_s must be a whole number of seconds from 0 to 300."
  }
}

variable "subscriber_reserved_concurrency" {
  description = "Concurrent subscriber invocations reserved (and allowed); -1 leaves them unreserved. Each shard runs one batch at a time whatever this says; fewer than shard_count makes shards wait for each other."
  type        = number
  default     = -1

  validation {
    condition     = var.subscriber_reserved_concurrency >= -1 && floor(var.subscriber_reserved_concurrency) == var.subscriber_reserved_concurrency
    error_message = "subscriber_reserved_concurrency must be -1 or a whole number."
  }
}

# --- the replica ------------------------------------------------------------------------------

variable "replica_database" {
  description = "Name of the database the Aurora PostgreSQL replica holds the source's tables in (1-63 letters, digits or underscores, starting with a letter)."
  type        = string
  default     = "replica"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,62}$", var.replica_database))
    error_message = "replica_database must be 1-63 letters, digits or underscores, starting with a letter."
  }
}

variable "replica_instance_class" {
  description = "Class of the replica cluster's one (writer) instance."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.replica_instance_class, "db.")
    error_message = "replica_instance_class must be an RDS instance class (db.*)."
  }
}

variable "replica_engine_version" {
  description = "Aurora PostgreSQL version of the replica (major.minor)."
  type        = string
  default     = "16.4"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.replica_engine_version))
    error_message = "replica_engine_version must be an Aurora PostgreSQL version as major.minor, e.g. 16.4."
  }
}

variable "replica_tls" {
  description = "How the subscriber connects to the replica (its REPLICA_TLS): \"require\" (encrypted, the server's certificate not checked, as libpq's sslmode=require), \"verify\" (encrypted, certificate and host name checked) or \"off\" (no TLS: only for a local PostgreSQL standing in for Aurora; never across a network)."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["require", "verify", "off"], var.replica_tls)
    error_message = "replica_tls must be require, verify or off."
  }
}

variable "replica_client_security_group_ids" {
  description = "Security groups besides the subscriber's whose members may connect to the replica (PostgreSQL), e.g. the host the harness observes the replica from; empty allows the subscriber only."
  type        = list(string)
  default     = []
}

# --- the network ------------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Private subnets (at least two availability zones, at most one subnet per zone) for the replica and the subscriber, e.g. the subnets of a VPC the harness can reach; empty creates a VPC with two. With subnet_ids, vpc_id names their VPC."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.subnet_ids) == 0 || length(var.subnet_ids) >= 2
    error_message = "Aurora needs subnets in at least two availability zones: give two subnet ids or more, or none."
  }
}

variable "vpc_id" {
  description = "VPC of subnet_ids (required with them; ignored without them, when a VPC is created)."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null ? true : can(regex("^vpc-[0-9a-z]+$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC id (vpc-...)."
  }
}

variable "secrets_manager_endpoint" {
  description = "Create an interface endpoint for Secrets Manager with private DNS, so the subscriber in private subnets reads the replica's secret without a NAT gateway. Needed with the created VPC; with subnet_ids, set false where their VPC already has one (only one endpoint per service may hold its private DNS name) or reaches Secrets Manager through NAT."
  type        = bool
  default     = true
}
