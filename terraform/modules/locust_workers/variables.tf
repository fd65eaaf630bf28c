variable "name" {
  description = "Name of the ECS cluster, service and task family, also the base of the roles', security group's, log group's and (without ledger_bucket_name) ledger bucket's names (\"<name>-ledgers\"): lowercase letters, digits, single dashes; starts with a letter."
  type        = string

  validation {
    # The ledger bucket's name, <name>-ledgers, stops at 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{0,54}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a lowercase letter, hold 1-55 lowercase letters, digits or single dashes, and not end with a dash."
  }
}

variable "run_id" {
  description = "Run identifier: handed to every worker (CDCBENCH_RUN_ID) and, without ledger_prefix, the folder of the run's ledgers."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,47}$", var.run_id))
    error_message = "run_id must be 1-48 lowercase letters, digits or dashes."
  }
}

variable "image" {
  description = "Container image holding cdcbench and Locust (and the locustfile), e.g. <account>.dkr.ecr.<region>.amazonaws.com/cdcbench:<tag>. A private ECR image gives the execution role pull permissions on its repository; other images must be public."
  type        = string

  validation {
    condition     = can(regex("^[^\\s]+$", var.image))
    error_message = "image must be a container image reference (no spaces)."
  }
}

variable "locustfile" {
  description = "Locustfile the workers run (-f), a path inside the image."
  type        = string
  default     = "loadtests/locustfile.py"

  validation {
    condition     = can(regex("^[^\\s]+$", var.locustfile))
    error_message = "locustfile must be a path inside the image (no spaces)."
  }
}

variable "master_host" {
  description = "Host name or address of the Locust master the workers connect to (--master-host)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._:-]+$", var.master_host))
    error_message = "master_host must be a host name or an IP address."
  }
}

variable "master_port" {
  description = "Port of the Locust master (--master-port)."
  type        = number
  default     = 5557

  validation {
    condition     = var.master_port >= 1 && var.master_port <= 65535 && floor(var.master_port) == var.master_port
    error_message = "master_port must be a TCP port number."
  }
}

variable "master_cidr_blocks" {
  description = "IPv4 networks the master is in: the workers may reach them on master_port (the master's own security group must admit the workers' group or subnets)."
  type        = list(string)

  validation {
    condition     = length(var.master_cidr_blocks) > 0 && alltrue([for c in var.master_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "master_cidr_blocks must be one IPv4 CIDR block or more."
  }
}

variable "worker_count" {
  description = "Number of worker tasks the service starts with (its desired count); each runs one Locust worker process. The harness creates the service with 0 and scales it for each load: Terraform leaves the count alone after creating the service."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 0 && var.worker_count <= 1000 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number from 0 to 1000."
  }
}

variable "cpu" {
  description = "CPU units of each worker task (1024 = one vCPU: a Locust worker is one process, so more helps little)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Memory (MiB) of each worker task; a size Fargate allows with cpu (2048-8192 with 1024 CPU units)."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880 && floor(var.memory) == var.memory
    error_message = "memory must be a whole number of MiB from 512 to 122880."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the worker tasks, which the image must be built for: X86_64 or ARM64 (Graviton)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "vpc_id" {
  description = "VPC of the subnets: the workers' security group lives there."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-z]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets the workers run in (no public IP is assigned): they reach AWS's APIs through a NAT gateway or the VPC's endpoints (S3, ECR, CloudWatch Logs, Secrets Manager)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-z]+$", id))])
    error_message = "subnet_ids must be one subnet id (subnet-...) or more."
  }
}

variable "source_dsn" {
  description = "libpq connection string of the source database without its password (source_rds's dsn_without_password): the workers' CDCBENCH_DSN. The password comes from source_secret_arn."
  type        = string

  validation {
    condition     = length(trimspace(var.source_dsn)) > 0 && !can(regex("(?i)password\\s*=|://[^/@]*:[^/@]*@", var.source_dsn))
    error_message = "source_dsn must be a connection string without a password (no password=..., no user:password@ in a URI): the password comes from source_secret_arn."
  }
}

variable "source_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the source's password (source_rds's master_user_secret_arn): ECS reads it into the workers' PGPASSWORD when a task starts."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.source_secret_arn))
    error_message = "source_secret_arn must be a Secrets Manager secret ARN (arn:...:secretsmanager:<region>:<account>:secret:...)."
  }
}

variable "source_secret_json_key" {
  description = "Key of the password in the secret's JSON (RDS's managed secrets hold username and password); null takes the whole secret as the password."
  type        = string
  default     = "password"

  validation {
    condition     = var.source_secret_json_key == null ? true : can(regex("^[^\\s:]+$", var.source_secret_json_key))
    error_message = "source_secret_json_key must be null or a JSON key without spaces or colons."
  }
}

variable "source_secret_kms_key_arn" {
  description = "Customer managed KMS key the source's secret is encrypted with (source_rds's kms_key_arn): the execution role may decrypt with it through Secrets Manager. Null for the AWS managed key (aws/secretsmanager)."
  type        = string
  default     = null

  validation {
    condition     = var.source_secret_kms_key_arn == null ? true : startswith(var.source_secret_kms_key_arn, "arn:")
    error_message = "source_secret_kms_key_arn must be null or a KMS key ARN (arn:...)."
  }
}

variable "source_port" {
  description = "Port of the source database the workers may reach."
  type        = number
  default     = 5432

  validation {
    condition     = var.source_port >= 1 && var.source_port <= 65535 && floor(var.source_port) == var.source_port
    error_message = "source_port must be a TCP port number."
  }
}

variable "source_security_group_id" {
  description = "Security group of the source database (source_rds's security_group_id): the workers may reach it on source_port. Give it, source_cidr_blocks, or both."
  type        = string
  default     = null

  validation {
    condition     = var.source_security_group_id == null ? true : can(regex("^sg-[0-9a-z]+$", var.source_security_group_id))
    error_message = "source_security_group_id must be null or a security group id (sg-...)."
  }
}

variable "source_cidr_blocks" {
  description = "IPv4 networks of the source database (one outside the VPC, say): the workers may reach them on source_port."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.source_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "source_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "https_cidr_blocks" {
  description = "IPv4 networks the workers may reach on HTTPS, where AWS's APIs are (S3, ECR, CloudWatch Logs, Secrets Manager): anywhere (through a NAT gateway) by default; empty with https_security_group_ids and https_prefix_list_ids naming the VPC's endpoints instead."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  nullable    = false

  validation {
    condition     = alltrue([for c in var.https_cidr_blocks : can(cidrhost(c, 0)) && !strcontains(c, ":")])
    error_message = "https_cidr_blocks must be IPv4 CIDR blocks."
  }
}

variable "https_security_group_ids" {
  description = "Security groups of the VPC's interface endpoints (ECR, CloudWatch Logs, Secrets Manager) the workers may reach on HTTPS."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.https_security_group_ids : can(regex("^sg-[0-9a-z]+$", id))])
    error_message = "https_security_group_ids must be security group ids (sg-...)."
  }
}

variable "https_prefix_list_ids" {
  description = "Prefix lists of the VPC's gateway endpoints (S3: the image's layers and the ledgers) the workers may reach on HTTPS."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.https_prefix_list_ids : can(regex("^pl-[0-9a-z]+$", id))])
    error_message = "https_prefix_list_ids must be prefix list ids (pl-...)."
  }
}

variable "ledger_bucket_name" {
  description = "Name of the bucket created for the workers' ledgers (globally unique); null names it \"<name>-ledgers\"."
  type        = string
  default     = null

  validation {
    condition     = var.ledger_bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.ledger_bucket_name))
    error_message = "ledger_bucket_name must be null or a valid S3 bucket name: 3-63 lowercase letters, digits, dots or dashes."
  }
}

variable "ledger_prefix" {
  description = "Key prefix the workers put their ledgers under (CDCBENCH_LEDGER_PREFIX), ending in a slash; the task role may write nowhere else. Null: \"ledger/<run_id>/\"."
  type        = string
  default     = null

  validation {
    condition     = var.ledger_prefix == null ? true : can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*/$", var.ledger_prefix))
    error_message = "ledger_prefix must be null or a key prefix of letters, digits and !_.'()- in slash-separated parts, ending in a slash and not starting with one."
  }
}

variable "ledger_expiration_days" {
  description = "Days a ledger object is kept in the bucket (the harness copies the ledgers out after the run); replaced or deleted versions go a day later."
  type        = number
  default     = 30

  validation {
    condition     = var.ledger_expiration_days >= 1 && floor(var.ledger_expiration_days) == var.ledger_expiration_days
    error_message = "ledger_expiration_days must be a whole number of days, at least 1."
  }
}

variable "environment" {
  description = "More environment variables for the workers (CDCBENCH_SCENARIO, say), in plain text in the task definition: no secrets. They cannot replace the module's own (CDCBENCH_RUN_ID, CDCBENCH_DSN, CDCBENCH_LEDGER_BUCKET, CDCBENCH_LEDGER_PREFIX, CDCBENCH_LEDGER_DIR, TMPDIR) or PGPASSWORD."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = alltrue([
      for name in keys(var.environment) :
      can(regex("^[A-Za-z_][A-Za-z0-9_]*$", name)) &&
      !contains(["CDCBENCH_RUN_ID", "CDCBENCH_DSN", "CDCBENCH_LEDGER_BUCKET", "CDCBENCH_LEDGER_PREFIX", "CDCBENCH_LEDGER_DIR", "TMPDIR"], name) &&
      !can(regex("(?i)password|secret", name))
    ])
    error_message = "environment names must be letters, digits and underscores, not one the module sets itself, and not name a password or secret (those come from Secrets Manager)."
  }
}

variable "log_retention_days" {
  description = "Days the workers' logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention period."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the ledger bucket (SSE-KMS) and the log group; the task role may encrypt with it through S3. Null uses the AWS managed key (aws/s3) and CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:...)."
  }
}

variable "tags" {
  description = "Tags for every resource (the service passes them on to its tasks)."
  type        = map(string)
  default     = {}
}
