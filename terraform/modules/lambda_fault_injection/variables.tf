variable "name" {
  description = "Name of the bucket and of the experiments' role (a valid S3 bucket name, at most 63 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 lowercase letters, digits or dashes, starting and ending with a letter or digit."
  }
}

variable "layer_arn" {
  description = "The AWS FIS Lambda extension's layer ARN in this region (SSM public parameter /aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:.+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a Lambda layer version ARN."
  }
}

variable "function_name_prefix" {
  description = "What the names of the functions experiments may target start with."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
