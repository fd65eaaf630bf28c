variable "name" {
  description = "Name of the VPC; its subnets, route table, endpoints and security groups are named after it (<name>-private-0, <name>-endpoints, ...)."
  type        = string

  validation {
    # Security group names stop at 255 characters and may not start with "sg-".
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$", var.name)) && !startswith(var.name, "sg-")
    error_message = "name must be 1-200 letters, digits, dots, underscores or dashes, start with a letter or digit, and not start with sg-."
  }
}

variable "subnet_ids" {
  description = "Existing private subnets (two availability zones at least) to use instead of a created VPC; empty creates a VPC with two. With subnet_ids, vpc_id names their VPC."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.subnet_ids) == 0 || length(var.subnet_ids) >= 2
    error_message = "subnet_ids must name two subnets or more (two availability zones), or none to create a VPC."
  }
}

variable "vpc_id" {
  description = "VPC of subnet_ids, where interface endpoints are created (required with subnet_ids and interface_endpoints; ignored without subnet_ids)."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null ? true : can(regex("^vpc-[0-9a-z]+$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC id (vpc-...)."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created without subnet_ids; its first two /+4 blocks become the private subnets."
  type        = string
  default     = "10.64.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.vpc_cidr, 4, 1))
    error_message = "vpc_cidr must be an IPv4 CIDR block of /24 or larger (it is split into /+4 subnets)."
  }
}

variable "gateway_endpoints" {
  description = "Services given gateway endpoints (s3, dynamodb) on a route table of the created VPC's subnets; none leaves the subnets on the VPC's main route table. Ignored with subnet_ids: a given VPC's routes are its owner's."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.gateway_endpoints : contains(["s3", "dynamodb"], s)])
    error_message = "gateway_endpoints may hold s3 and dynamodb only: no other service has a gateway endpoint."
  }
}

variable "interface_endpoints" {
  description = "Services given interface endpoints with private DNS in the subnets (e.g. [\"lambda\", \"sts\"] or [\"secretsmanager\"]), in the created VPC or the given one. Only one endpoint per service may hold a VPC's private DNS name: leave out services a given VPC already has."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints must be service names such as lambda, sts or secretsmanager."
  }
}

variable "endpoint_security_group" {
  description = "The interface endpoints' security group, which admits HTTPS (443) only: its name (null: <name>-endpoints) and description (null: says whom it admits); client_security_group_ids, the groups whose members it admits (empty: the created VPC's CIDR block; required with subnet_ids), and client_description, its ingress rule's description (null: says whom). Unused without interface_endpoints."
  type = object({
    name                      = optional(string)
    description               = optional(string)
    client_security_group_ids = optional(list(string), [])
    client_description        = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for id in var.endpoint_security_group.client_security_group_ids : can(regex("^sg-[0-9a-z]+$", id))])
    error_message = "endpoint_security_group.client_security_group_ids must be security group ids (sg-...)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
