# Locust workers on ECS Fargate, for load past what one machine generates: worker_count tasks
# of one service, each running `locust --worker` against a master the harness runs elsewhere
# (master_host:master_port), loading the source database with the locustfile of the image.
#
# The tasks run in private subnets with a security group of their own that lets out only
# PostgreSQL to the source, Locust's port to the master, and HTTPS (S3, ECR, CloudWatch Logs,
# Secrets Manager: through a NAT gateway or the VPC's endpoints). Each worker finds the
# source's DSN (without a password) in its environment, and the password in PGPASSWORD, which
# ECS reads from the source's Secrets Manager secret when the task starts: the password is
# never in the task definition, Terraform's state or the outputs. The root file system is
# read-only; the workers write their ledgers under /scratch (task storage) and put them into
# an S3 bucket of this module under a prefix of the run: the task role may put objects there
# and do nothing else. Logs go to an encrypted log group with a retention.
locals {
  ledger_bucket = coalesce(var.ledger_bucket_name, "${var.name}-ledgers")
  ledger_prefix = coalesce(var.ledger_prefix, "ledger/${var.run_id}/")

  # A private ECR image needs the execution role's pull permissions on its repository
  # (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]); a public image none.
  ecr_image = try(regex("^([0-9]{12})\\.dkr\\.ecr(?:-fips)?\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.image), null)
  ecr_repository_arn = (
    local.ecr_image == null ? null
    : "arn:${data.aws_partition.current.partition}:ecr:${local.ecr_image[1]}:${local.ecr_image[0]}:repository/${local.ecr_image[2]}"
  )

  # Task storage the read-only root file system leaves writable: the ledgers, temporary files.
  scratch = "/scratch"

  # What the module sets in every worker's environment; `environment` adds to it.
  own_environment = {
    CDCBENCH_RUN_ID        = var.run_id
    CDCBENCH_DSN           = var.source_dsn
    CDCBENCH_LEDGER_BUCKET = module.ledgers.name
    CDCBENCH_LEDGER_PREFIX = local.ledger_prefix
    CDCBENCH_LEDGER_DIR    = "${local.scratch}/ledger"
    TMPDIR                 = local.scratch
  }

  # Memory (MiB) Fargate allows with each CPU size (CPU units).
  fargate_memory = {
    "256"   = [512, 1024, 2048]
    "512"   = range(1024, 4097, 1024)
    "1024"  = range(2048, 8193, 1024)
    "2048"  = range(4096, 16385, 1024)
    "4096"  = range(8192, 30721, 1024)
    "8192"  = range(16384, 61441, 4096)
    "16384" = range(32768, 122881, 8192)
  }
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# --- the ledgers: an encrypted, private, versioned bucket whose objects expire ------------------

module "ledgers" {
  source        = "../event_store_bucket"
  name          = local.ledger_bucket
  kms_key_arn   = var.kms_key_arn
  versioning    = true
  force_destroy = true
  tags          = var.tags
}

# The harness copies the ledgers out after the run: what is left expires.
resource "aws_s3_bucket_lifecycle_configuration" "ledgers" {
  bucket = module.ledgers.name

  rule {
    id     = "expire-ledgers"
    status = "Enabled"

    filter {}

    expiration {
      days = var.ledger_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# --- logs ----------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:benchmark deployments are short-lived; log_retention_days sets the retention
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# --- roles ---------------------------------------------------------------------------------------

# The workers' own identity: put objects under the run's ledger prefix, nothing else (with a
# customer managed key, encrypt them with it, through S3 only).
data "aws_iam_policy_document" "task" {
  statement {
    sid       = "WriteLedgers"
    actions   = ["s3:PutObject"]
    resources = ["${module.ledgers.arn}/${local.ledger_prefix}*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid = "EncryptLedgers"
      # Decrypt too: S3 needs it to complete a multipart upload of an encrypted object.
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

module "task_role" {
  source      = "../service_role"
  name        = "${var.name}-task"
  service     = "ecs-tasks.amazonaws.com"
  description = "Locust workers ${var.name}: put their ledgers into s3://${local.ledger_bucket}/${local.ledger_prefix}"
  policy_name = "write-ledgers"
  policy_json = data.aws_iam_policy_document.task.json
  tags        = var.tags
}

# What ECS does as the task's execution role to start a worker: pull the image (from a private
# ECR repository), write the worker's log, and read the source's password from its secret.
data "aws_iam_policy_document" "execution" {
  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [local.ecr_repository_arn]
    content {
      sid       = "PullImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  # ECR's registry token is not scoped to a repository: IAM grants it on * only.
  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [1]
    content {
      sid       = "AuthenticateToRegistry"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "ReadSourcePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.source_secret_arn]
  }

  dynamic "statement" {
    for_each = var.source_secret_kms_key_arn == null ? [] : [var.source_secret_kms_key_arn]
    content {
      sid       = "DecryptSourcePassword"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

module "execution_role" {
  source      = "../service_role"
  name        = "${var.name}-execution"
  service     = "ecs-tasks.amazonaws.com"
  description = "ECS starts the Locust workers ${var.name}: pull their image, write their logs, read the source's password"
  policy_name = "start-workers"
  policy_json = data.aws_iam_policy_document.execution.json
  tags        = var.tags
}

# --- the network ---------------------------------------------------------------------------------

# The workers' own group: no ingress (they only connect out), egress as below. The egress
# rules are resources of their own: inline, the source's group (which admits this one) and
# this one would name each other (a cycle).
resource "aws_security_group" "this" {
  name        = "${var.name}-workers"
  description = "Locust workers ${var.name}: PostgreSQL to the source, Locust to the master, HTTPS to AWS"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-workers" })

  lifecycle {
    precondition {
      condition     = var.source_security_group_id != null || length(var.source_cidr_blocks) > 0
      error_message = "source_security_group_id or source_cidr_blocks must name where the source database is: the workers may reach nothing else on its port."
    }
  }
}

resource "aws_vpc_security_group_egress_rule" "to_source_group" {
  count                        = var.source_security_group_id == null ? 0 : 1
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL to the source database"
  ip_protocol                  = "tcp"
  from_port                    = var.source_port
  to_port                      = var.source_port
  referenced_security_group_id = var.source_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_source_network" {
  for_each          = toset(var.source_cidr_blocks)
  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL to the source database"
  ip_protocol       = "tcp"
  from_port         = var.source_port
  to_port           = var.source_port
  cidr_ipv4         = each.key
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_master" {
  for_each          = toset(var.master_cidr_blocks)
  security_group_id = aws_security_group.this.id
  description       = "Locust to the master"
  ip_protocol       = "tcp"
  from_port         = var.master_port
  to_port           = var.master_port
  cidr_ipv4         = each.key
  tags              = var.tags
}

# To wherever the VPC routes HTTPS (a NAT gateway), or to the VPC's interface endpoints.
resource "aws_vpc_security_group_egress_rule" "https_to_network" {
  for_each          = toset(var.https_cidr_blocks)
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to AWS (S3, ECR, CloudWatch Logs, Secrets Manager)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.key
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https_to_group" {
  for_each                     = toset(var.https_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to the VPC's interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.key
  tags                         = var.tags
}

# An S3 gateway endpoint is reached through its prefix list, not a CIDR block of the VPC.
resource "aws_vpc_security_group_egress_rule" "https_to_prefix_list" {
  for_each          = toset(var.https_prefix_list_ids)
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to a gateway endpoint's prefix list"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.key
  tags              = var.tags
}

# --- the workers ---------------------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_249:task_role_arn and execution_role_arn are two roles (module.task_role, module.execution_role); checkov resolves both to the one resource of their shared service_role module
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  task_role_arn            = module.task_role.arn
  execution_role_arn       = module.execution_role.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "scratch"
  }

  container_definitions = jsonencode([{
    name      = "locust-worker"
    image     = var.image
    essential = true
    command = [
      "locust", "--worker",
      "--master-host", var.master_host,
      "--master-port", tostring(var.master_port),
      "-f", var.locustfile,
    ]
    environment = [
      for name, value in merge(var.environment, local.own_environment) : { name = name, value = value }
    ]
    # ECS reads the password from the secret (its JSON key, or the whole secret) at start.
    secrets = [{
      name      = "PGPASSWORD"
      valueFrom = var.source_secret_json_key == null ? var.source_secret_arn : "${var.source_secret_arn}:${var.source_secret_json_key}::"
    }]
    readonlyRootFilesystem = true
    mountPoints = [{
      sourceVolume  = "scratch"
      containerPath = local.scratch
      readOnly      = false
    }]
    # Locust stops its users gracefully (the locustfile waits up to 30 s for a transaction
    # to reach the ledger): ECS waits this long after SIGTERM before SIGKILL.
    stopTimeout = 60
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "worker"
      }
    }
  }])

  lifecycle {
    precondition {
      condition     = contains(lookup(local.fargate_memory, tostring(var.cpu), []), var.memory)
      error_message = "memory must be a size Fargate allows with cpu: 256 CPU units take 512-2048 MiB, 512 take 1024-4096, 1024 take 2048-8192, 2048 take 4096-16384 (in 1024 MiB steps), 4096 take 8192-30720 (1024 MiB steps), 8192 take 16384-61440 (4096 MiB steps), 16384 take 32768-122880 (8192 MiB steps)."
    }
  }
}

resource "aws_ecs_service" "this" {
  name                    = var.name
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.this.arn
  desired_count           = var.worker_count
  launch_type             = "FARGATE"
  platform_version        = "LATEST"
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  tags                    = var.tags

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  # The harness scales the service for each load (UpdateService): a later apply or destroy
  # leaves that count alone.
  lifecycle {
    ignore_changes = [desired_count]
  }

  # A worker that cannot start (a wrong image, say) stops the deployment instead of being
  # retried for the whole run.
  deployment_circuit_breaker {
    enable   = true
    rollback = false
  }

  # The roles may act, and the workers may reach the source and the master, before any
  # worker starts.
  depends_on = [
    module.task_role,
    module.execution_role,
    aws_vpc_security_group_egress_rule.to_source_group,
    aws_vpc_security_group_egress_rule.to_source_network,
    aws_vpc_security_group_egress_rule.to_master,
    aws_vpc_security_group_egress_rule.https_to_network,
    aws_vpc_security_group_egress_rule.https_to_group,
    aws_vpc_security_group_egress_rule.https_to_prefix_list,
  ]
}
