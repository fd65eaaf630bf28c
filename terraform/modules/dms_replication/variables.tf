variable "name" {
  description = "Name of the replication instance, its subnet group and security group (letters, digits, dashes; starts with a letter)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold 1-63 letters, digits or single dashes, and not end with a dash."
  }
}

variable "subnet_ids" {
  description = "Private subnets (two availability zones at least) for the instance; empty creates a VPC with two."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.subnet_ids) == 0 || length(var.subnet_ids) >= 2
    error_message = "DMS needs subnets in at least two availability zones: give two subnet ids or none."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created when no subnet_ids are given."
  type        = string
  default     = "10.64.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "interface_endpoints" {
  description = "Services given interface endpoints with private DNS in the created VPC (e.g. [\"lambda\", \"sts\"]); ignored with subnet_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints must be service names such as lambda or sts."
  }
}

variable "instance_class" {
  description = "Replication instance class."
  type        = string
  default     = "dms.t3.micro"

  validation {
    condition     = startswith(var.instance_class, "dms.")
    error_message = "instance_class must be a DMS instance class (dms.*)."
  }
}

variable "allocated_storage" {
  description = "Storage of the replication instance in GiB (holds cached changes and logs)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 5 && var.allocated_storage <= 6144
    error_message = "allocated_storage must be between 5 and 6144 GiB."
  }
}

variable "engine_version" {
  description = "DMS engine version; null takes the service default."
  type        = string
  default     = null
}

variable "multi_az" {
  description = "Run a standby replication instance in a second availability zone."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the instance's storage; null uses the AWS managed key (aws/dms)."
  type        = string
  default     = null
}

variable "egress_ports" {
  description = "TCP ports the instance may reach: its sources, targets and the AWS APIs (443)."
  type        = list(number)
  default     = [443, 5432]

  validation {
    condition     = alltrue([for p in var.egress_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "egress_ports must be TCP port numbers."
  }
}

variable "egress_cidr_blocks" {
  description = "Where the instance's egress may go."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.egress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "egress_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "create_dms_vpc_role" {
  description = "Create the account's `dms-vpc-role` (DMS needs it; set false where the account already has it)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
