variable "stream_arn" {
  description = "ARN of the Kinesis stream read."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[A-Za-z0-9_.-]+$", var.stream_arn))
    error_message = "stream_arn must be a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)."
  }
}

variable "reader" {
  description = "What reads the stream: \"lambda\" (an event-source mapping's poller, for the function's role) or \"firehose\" (a delivery stream's Kinesis source, for its role)."
  type        = string

  validation {
    condition     = contains(["lambda", "firehose"], var.reader)
    error_message = "reader must be lambda or firehose."
  }
}

variable "sid" {
  description = "Sid of the statement on the stream (the lambda reader's statement without a stream is ListStreams): unique within the policy document that takes these statements."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9]+$", var.sid)) && var.sid != "ListStreams"
    error_message = "sid must be letters and digits only, and not ListStreams (the lambda reader's other statement)."
  }
}
