variable "name" {
  description = "Cluster name (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,63}$", var.name))
    error_message = "name must start with a letter and hold 1-64 letters, digits or dashes."
  }
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the brokers, one per broker availability zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "MSK needs subnets in at least two availability zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups of clients outside the cluster's own group (e.g. a DMS replication instance)."
  type        = list(string)
  default     = []
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers."
  type        = string
  default     = "3.6.0"
}

variable "number_of_broker_nodes" {
  description = "Brokers (a multiple of the number of subnets)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_broker_nodes >= 1 && floor(var.number_of_broker_nodes) == var.number_of_broker_nodes
    error_message = "number_of_broker_nodes must be a whole number, at least 1."
  }
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.t3.small"

  validation {
    condition     = startswith(var.instance_type, "kafka.")
    error_message = "instance_type must be an MSK broker type (kafka.*)."
  }
}

variable "volume_size" {
  description = "EBS storage per broker in GiB."
  type        = number
  default     = 10

  validation {
    condition     = var.volume_size >= 1 && var.volume_size <= 16384
    error_message = "volume_size must be between 1 and 16384 GiB."
  }
}

variable "configuration_arn" {
  description = "MSK configuration to apply (e.g. with auto.create.topics.enable=true so DMS can create its topic); null keeps MSK's defaults."
  type        = string
  default     = null
}

variable "configuration_revision" {
  description = "Revision of configuration_arn."
  type        = number
  default     = 1
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for broker storage and broker logs; null uses the AWS managed keys."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days broker logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention period."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
