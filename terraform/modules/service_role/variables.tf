variable "name" {
  description = "Role name (shortened with a hash past 64 characters)."
  type        = string
}

variable "service" {
  description = "Service principal that assumes the role, e.g. dms.amazonaws.com."
  type        = string

  validation {
    condition     = endswith(var.service, ".amazonaws.com")
    error_message = "service must be a service principal such as dms.amazonaws.com."
  }
}

variable "description" {
  description = "What the role is for."
  type        = string
}

variable "policy_name" {
  description = "Name of the inline policy."
  type        = string
}

variable "policy_json" {
  description = "The inline policy document (JSON)."
  type        = string
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
