# The workers' plan: worker_count Fargate tasks running `locust --worker` against the master,
# the source's password from its secret only, ledgers put under the run's prefix of an
# encrypted, expiring bucket (and nowhere else), egress to the source, the master and HTTPS
# only, and the variables' validations.
# `terraform test` from this folder; no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

# The bucket's id and ARN are known only once it exists: the plans take these (and so does the
# task definition, which hands the bucket's name on to the workers).
override_resource {
  target          = module.ledgers.aws_s3_bucket.this
  override_during = plan
  values = {
    id  = "wk-test-ledgers"
    arn = "arn:aws:s3:::wk-test-ledgers"
  }
}

variables {
  name                     = "wk-test"
  run_id                   = "run-1"
  image                    = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdcbench:1.0"
  master_host              = "10.0.0.10"
  master_cidr_blocks       = ["10.0.0.10/32"]
  vpc_id                   = "vpc-0abc"
  subnet_ids               = ["subnet-0aaa", "subnet-0bbb"]
  source_dsn               = "host=src.example port=5432 dbname=cdcbench user=cdcbench sslmode=require"
  source_secret_arn        = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x"
  source_security_group_id = "sg-0source"
}

run "workers_run_locust_against_the_master" {
  command = plan

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.this.container_definitions)[0].command
      == ["locust", "--worker", "--master-host", "10.0.0.10", "--master-port", "5557", "-f", "loadtests/locustfile.py"]
    )
    error_message = "each worker runs locust --worker against master_host:master_port with the locustfile"
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == var.image
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].mountPoints[0].containerPath == "/scratch"
    )
    error_message = "the image runs on a read-only root file system, writing under /scratch only"
  }

  assert {
    condition = (
      aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"]) && aws_ecs_task_definition.this.network_mode == "awsvpc"
      && aws_ecs_task_definition.this.cpu == "1024" && aws_ecs_task_definition.this.memory == "2048"
      && aws_ecs_task_definition.this.runtime_platform[0].cpu_architecture == "X86_64"
    )
    error_message = "a Fargate task in awsvpc mode with one vCPU and 2 GiB by default"
  }

  assert {
    condition = (
      aws_ecs_service.this.desired_count == 2 && aws_ecs_service.this.launch_type == "FARGATE"
      && aws_ecs_service.this.platform_version == "LATEST"
      && (!aws_ecs_service.this.network_configuration[0].assign_public_ip)
      && aws_ecs_service.this.network_configuration[0].subnets == toset(["subnet-0aaa", "subnet-0bbb"])
    )
    error_message = "two workers by default, on Fargate, in the private subnets without a public IP"
  }

  assert {
    condition     = [for s in aws_ecs_cluster.this.setting : s.value if s.name == "containerInsights"] == ["enabled"]
    error_message = "the cluster has Container Insights on"
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/ecs/wk-test" && aws_cloudwatch_log_group.this.retention_in_days == 30
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/wk-test"
    )
    error_message = "the workers log to their own log group, kept 30 days"
  }
}

run "the_environment_carries_no_password" {
  command = plan

  variables {
    environment = { CDCBENCH_SCENARIO = "scenarios/steady.yaml" }
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value }
      == {
        CDCBENCH_RUN_ID        = "run-1"
        CDCBENCH_DSN           = "host=src.example port=5432 dbname=cdcbench user=cdcbench sslmode=require"
        CDCBENCH_LEDGER_BUCKET = "wk-test-ledgers"
        CDCBENCH_LEDGER_PREFIX = "ledger/run-1/"
        CDCBENCH_LEDGER_DIR    = "/scratch/ledger"
        CDCBENCH_SCENARIO      = "scenarios/steady.yaml"
        TMPDIR                 = "/scratch"
      }
    )
    error_message = "the workers get the run id, the DSN without password, the ledger bucket, prefix and folder, and the extra environment"
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets
      == [{ name = "PGPASSWORD", valueFrom = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x:password::" }]
    )
    error_message = "ECS reads the password from the secret's password key into PGPASSWORD"
  }

  assert {
    condition     = output.ledger_bucket == "wk-test-ledgers" && output.ledger_prefix == "ledger/run-1/"
    error_message = "the outputs name the ledger bucket and the run's prefix"
  }
}

run "the_task_role_may_only_put_ledgers_under_the_prefix" {
  command = plan

  assert {
    condition = (
      jsonencode([for s in data.aws_iam_policy_document.task.statement : [s.sid, s.effect, sort(s.actions), sort(s.resources)]])
      == jsonencode([["WriteLedgers", null, ["s3:PutObject"], ["arn:aws:s3:::wk-test-ledgers/ledger/run-1/*"]]])
    )
    error_message = "the task role may put objects under the run's ledger prefix, nothing else"
  }
}

run "a_customer_managed_key_lets_the_task_encrypt_its_ledgers_through_s3" {
  command = plan

  variables {
    kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ledger_prefix = "ledgers/custom/"
  }

  assert {
    condition = (
      jsonencode([for s in data.aws_iam_policy_document.task.statement : [s.sid, sort(s.actions), sort(s.resources)]])
      == jsonencode([
        ["WriteLedgers", ["s3:PutObject"], ["arn:aws:s3:::wk-test-ledgers/ledgers/custom/*"]],
        ["EncryptLedgers", ["kms:Decrypt", "kms:GenerateDataKey"], [var.kms_key_arn]],
      ])
    )
    error_message = "with a customer managed key: PutObject under ledger_prefix and the key's use for it"
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.task.statement : [for c in s.condition : c.variable] if s.sid == "EncryptLedgers"]
      == [["kms:ViaService"]]
    )
    error_message = "the key is usable through S3 only"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "the key encrypts the log group"
  }
}

run "the_ledger_bucket_is_private_encrypted_versioned_and_expires" {
  command = plan

  assert {
    condition     = module.ledgers.name == "wk-test-ledgers" && aws_s3_bucket_lifecycle_configuration.ledgers.bucket == "wk-test-ledgers"
    error_message = "the ledger bucket is named after the workers, and its lifecycle rule is its own"
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.ledgers.rule[0].status == "Enabled"
      && aws_s3_bucket_lifecycle_configuration.ledgers.rule[0].expiration[0].days == 30
      && aws_s3_bucket_lifecycle_configuration.ledgers.rule[0].noncurrent_version_expiration[0].noncurrent_days == 1
      && aws_s3_bucket_lifecycle_configuration.ledgers.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1
    )
    error_message = "ledgers expire after 30 days, replaced versions and unfinished uploads after one"
  }
}

# The bucket module with what this module gives it.
run "the_bucket_module_blocks_public_access_and_plain_http" {
  command = plan

  module {
    source = "../event_store_bucket"
  }

  variables {
    name       = "wk-test-ledgers"
    versioning = true
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy
      && aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "public access is blocked"
  }

  assert {
    condition = (
      [for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm] == ["aws:kms"]
      && length(aws_s3_bucket_versioning.this) == 1 && length(aws_s3_bucket_policy.this) == 1
      && aws_s3_bucket.this.force_destroy
    )
    error_message = "SSE-KMS, versioning, a TLS-only policy, and destroyed with its objects"
  }
}

run "the_execution_role_pulls_from_the_ecr_repository_logs_and_reads_the_secret" {
  command = plan

  override_resource {
    target          = aws_cloudwatch_log_group.this
    override_during = plan
    values = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/wk-test"
    }
  }

  override_data {
    target = data.aws_partition.current
    values = {
      partition = "aws"
    }
  }

  assert {
    condition = (
      jsonencode({ for s in data.aws_iam_policy_document.execution.statement : s.sid => [sort(s.actions), sort(s.resources)] })
      == jsonencode({
        PullImage = [
          ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
          ["arn:aws:ecr:us-east-1:123456789012:repository/cdcbench"],
        ]
        AuthenticateToRegistry = [["ecr:GetAuthorizationToken"], ["*"]]
        WriteLogs              = [["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:aws:logs:us-east-1:123456789012:log-group:/ecs/wk-test:*"]]
        ReadSourcePassword     = [["secretsmanager:GetSecretValue"], [var.source_secret_arn]]
      })
    )
    error_message = "the execution role pulls from the image's repository, writes the workers' log and reads the one secret"
  }
}

run "a_public_image_needs_no_pull_permissions" {
  command = plan

  variables {
    image                     = "public.ecr.aws/example/cdcbench:1.0"
    source_secret_json_key    = null
    source_secret_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/abcd"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.execution.statement : s.sid] == ["WriteLogs", "ReadSourcePassword", "DecryptSourcePassword"]
    error_message = "no ECR permissions for a public image; the secret's key may decrypt it"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets[0].valueFrom == var.source_secret_arn
    error_message = "without a JSON key the whole secret is the password"
  }
}

run "egress_to_the_source_the_master_and_https_only" {
  command = plan

  variables {
    source_cidr_blocks       = ["192.168.0.0/24"]
    source_port              = 6432
    master_port              = 15557
    https_cidr_blocks        = []
    https_security_group_ids = ["sg-0endpoints"]
    https_prefix_list_ids    = ["pl-0s3"]
    worker_count             = 12
    cpu                      = 2048
    memory                   = 4096
  }

  assert {
    condition = (
      aws_vpc_security_group_egress_rule.to_source_group[0].referenced_security_group_id == "sg-0source"
      && aws_vpc_security_group_egress_rule.to_source_group[0].from_port == 6432
      && aws_vpc_security_group_egress_rule.to_source_group[0].to_port == 6432
      && keys(aws_vpc_security_group_egress_rule.to_source_network) == ["192.168.0.0/24"]
      && aws_vpc_security_group_egress_rule.to_source_network["192.168.0.0/24"].from_port == 6432
    )
    error_message = "PostgreSQL, on source_port, to the source's group and networks"
  }

  assert {
    condition = (
      keys(aws_vpc_security_group_egress_rule.to_master) == ["10.0.0.10/32"]
      && aws_vpc_security_group_egress_rule.to_master["10.0.0.10/32"].from_port == 15557
      && aws_vpc_security_group_egress_rule.to_master["10.0.0.10/32"].to_port == 15557
    )
    error_message = "Locust, on master_port, to the master's network"
  }

  assert {
    condition = (
      length(aws_vpc_security_group_egress_rule.https_to_network) == 0
      && aws_vpc_security_group_egress_rule.https_to_group["sg-0endpoints"].from_port == 443
      && aws_vpc_security_group_egress_rule.https_to_prefix_list["pl-0s3"].to_port == 443
    )
    error_message = "HTTPS to the VPC's endpoints only when no network is given for it"
  }

  assert {
    condition = (
      aws_ecs_service.this.desired_count == 12 && aws_ecs_task_definition.this.cpu == "2048" && aws_ecs_task_definition.this.memory == "4096"
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].command[5] == "15557"
    )
    error_message = "worker_count, cpu, memory and master_port shape the service and its tasks"
  }
}

run "https_goes_anywhere_by_default" {
  command = plan

  assert {
    condition = (
      keys(aws_vpc_security_group_egress_rule.https_to_network) == ["0.0.0.0/0"]
      && aws_vpc_security_group_egress_rule.https_to_network["0.0.0.0/0"].from_port == 443
      && aws_vpc_security_group_egress_rule.https_to_network["0.0.0.0/0"].to_port == 443
      && length(aws_vpc_security_group_egress_rule.to_source_network) == 0
    )
    error_message = "HTTPS through a NAT gateway by default; PostgreSQL only to the source's group"
  }
}

# --- what the variables refuse ---------------------------------------------------------------------

run "rejects_a_negative_worker_count" {
  command = plan

  variables {
    worker_count = -1
  }

  expect_failures = [var.worker_count]
}

run "rejects_a_fractional_worker_count" {
  command = plan

  variables {
    worker_count = 1.5
  }

  expect_failures = [var.worker_count]
}

run "rejects_more_than_a_thousand_workers" {
  command = plan

  variables {
    worker_count = 1001
  }

  expect_failures = [var.worker_count]
}

run "rejects_a_dsn_with_a_password" {
  command = plan

  variables {
    source_dsn = "host=src.example dbname=cdcbench user=cdcbench password=hunter2"
  }

  expect_failures = [var.source_dsn]
}

run "rejects_a_uri_with_a_password" {
  command = plan

  variables {
    source_dsn = "postgresql://cdcbench:hunter2@src.example/cdcbench"
  }

  expect_failures = [var.source_dsn]
}

run "rejects_bad_names_and_settings" {
  command = plan

  variables {
    name                   = "Wk_test"
    run_id                 = "Run 1"
    image                  = "cdcbench latest"
    master_host            = ""
    master_port            = 0
    master_cidr_blocks     = []
    cpu                    = 1000
    cpu_architecture       = "arm64"
    source_secret_arn      = "rds!db-x"
    source_port            = 70000
    ledger_prefix          = "/ledger"
    ledger_expiration_days = 0
    log_retention_days     = 2
  }

  expect_failures = [
    var.name,
    var.run_id,
    var.image,
    var.master_host,
    var.master_port,
    var.master_cidr_blocks,
    var.cpu,
    var.cpu_architecture,
    var.source_secret_arn,
    var.source_port,
    var.ledger_prefix,
    var.ledger_expiration_days,
    var.log_retention_days,
  ]
}

run "rejects_bad_network_ids" {
  command = plan

  variables {
    vpc_id                   = "subnet-0abc"
    subnet_ids               = []
    source_security_group_id = "vpc-0abc"
    source_cidr_blocks       = ["not-a-cidr"]
    https_cidr_blocks        = ["::/0"]
    https_security_group_ids = ["pl-0s3"]
    https_prefix_list_ids    = ["sg-0endpoints"]
  }

  expect_failures = [
    var.vpc_id,
    var.subnet_ids,
    var.source_security_group_id,
    var.source_cidr_blocks,
    var.https_cidr_blocks,
    var.https_security_group_ids,
    var.https_prefix_list_ids,
  ]
}

run "rejects_environment_that_replaces_the_modules_own_or_holds_a_secret" {
  command = plan

  variables {
    environment = { CDCBENCH_DSN = "host=elsewhere", DB_PASSWORD = "hunter2" }
  }

  expect_failures = [var.environment]
}

run "rejects_memory_fargate_does_not_pair_with_the_cpu" {
  command = plan

  variables {
    cpu    = 1024
    memory = 1024
  }

  expect_failures = [aws_ecs_task_definition.this]
}

run "rejects_workers_that_cannot_reach_the_source" {
  command = plan

  variables {
    source_security_group_id = null
  }

  expect_failures = [aws_security_group.this]
}
