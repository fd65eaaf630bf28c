# The variables every pattern's root module declares alike (but `direct`, the floor): the
# run id, names and the KMS key. Each such root links this file (as shared_variables.tf), so
# they are declared once; what differs between patterns stays in their own variables.tf.

variable "run_id" {
  description = "Run identifier: names and tags every resource so leftovers can be found."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,47}$", var.run_id))
    error_message = "run_id must be 1-48 lowercase letters, digits or dashes."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (short, starting with a letter: DMS identifiers must, and the longest names stay within SQS's 80 and Lambda's 64 characters)."
  type        = string
  default     = "cdcbench"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}$", var.name_prefix))
    error_message = "name_prefix must be 1-9 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key (its ARN) for everything the pattern stores (buckets, tables, queues, streams, replication instances, functions' environments and logs); null uses the AWS managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): DynamoDB takes no alias or bare key id."
  }
}
