terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

# Region, credentials and endpoints come from the standard AWS environment
# (AWS_REGION, AWS_ENDPOINT_URL, ...), so this module runs unchanged on every target.
provider "aws" {
  default_tags {
    tags = local.tags
  }
}
