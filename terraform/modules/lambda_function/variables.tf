variable "name" {
  description = "Function name, also its role's name (letters, digits, dashes, underscores)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, dashes or underscores."
  }
}

variable "description" {
  description = "What the function does."
  type        = string
  default     = ""
}

variable "package" {
  description = "Path of the deployment package (a zip with the handler's modules at its root), built before apply."
  type        = string

  validation {
    condition     = endswith(var.package, ".zip")
    error_message = "package must be the path of a .zip file."
  }
}

variable "handler" {
  description = "Handler as module.function."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must be module.function."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = startswith(var.runtime, "python3.")
    error_message = "runtime must be a Python 3 runtime."
  }
}

variable "timeout" {
  description = "Seconds an invocation may run."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function; -1 leaves it unreserved."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= -1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be -1 or a whole number."
  }
}

variable "environment" {
  description = "Environment variables."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy JSON with the statements the function needs beyond its own logs (least privilege: name the resources)."
  type        = string
  default     = null
}

variable "vpc_config" {
  description = "Subnets and security groups the function runs in, to reach resources only a VPC can (a private database); null runs it outside any VPC, where it reaches AWS's public endpoints. In a VPC without a NAT gateway the function reaches only what the VPC's endpoints serve."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null ? true : length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
    error_message = "vpc_config needs at least one subnet id and one security group id."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the environment variables and the log group; null uses the AWS managed keys."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days the function's logs are kept."
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

variable "fault_injection" {
  description = "AWS FIS's Lambda extension for the function (modules/lambda_fault_injection's function_settings: the extension's layer ARN, the bucket and the key prefix in it where experiments write fault configurations); null: none."
  type = object({
    layer_arn  = string
    bucket_arn = string
    prefix     = string
  })
  default = null
}
