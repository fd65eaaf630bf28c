"""The permissions `--target aws` needs, and how to check them before anything is applied.

`ACTIONS_BY_TYPE` maps each Terraform type in terraform/ (a resource by its type, a data
source as `data.<type>`) to the API actions Terraform's AWS provider (5.x) calls to create,
read, update, tag and destroy it, plus what the service itself asks of the caller: a role
handed to it (`iam:PassRole`), its service-linked role made on first use
(`iam:CreateServiceLinkedRole`), MSK's delivery of broker logs. `RUN_ACTIONS` is what the
harness calls itself: the preflight, the application and the change publishers, the
observers, stopping DMS tasks before destroy, and `cdcbench gc`. `KEY_ACTIONS` is needed
only when a customer managed KMS key (`kms_key_arn`) encrypts what the patterns store: an
AWS managed key's own key policy admits every principal of the account using it through
its service.

`policy/cdcbench-aws.json` (`POLICY_PATH`) grants exactly these, one statement per service
(its `Sid` names it), with action names or tight patterns (`dms:*ReplicationTask`,
`ec2:*RouteTable`, `lambda:Get*`) where naming every action would pass IAM's 6,144
characters for a managed policy; IAM, KMS and STS actions are always named. Its resources
are "*", because:
- many actions accept no narrower resource (the Describe/List calls of EC2, DMS, RDS, MSK
  and ECS, `ec2:CreateVpc`, `kafka:CreateCluster`, `kafkaconnect:CreateConnector`,
  `tag:GetResources`, `sts:GetCallerIdentity`, `servicequotas:GetServiceQuota`,
  `iam:SimulatePrincipalPolicy`);
- the others act on resources named per run (`<name_prefix>-<run id>-...`, with a prefix
  the user may change), identified by IDs AWS assigns on creation (VPCs, subnets, security
  groups, clusters, connectors), or never named by a pattern at all (the network
  interfaces of Lambda, DMS, ECS and MSK Connect);
- the preflight simulates each action against "*" (`missing_actions`), as what is about to
  be created does not exist yet: a statement scoped to ARN patterns would not answer.
Where IAM has a condition key that narrows an action, the policy uses it: `iam:PassRole`
only to the services assuming the patterns' roles (`iam:PassedToService`),
`iam:CreateServiceLinkedRole` only for the services making one (`iam:AWSServiceName`),
`kms:CreateGrant` only for grants AWS services make on the caller's behalf
(`kms:GrantIsForAWSResource`). `ACTION_CONTEXTS` gives the simulator those keys' values.

`missing_actions` asks IAM's policy simulator (`iam:SimulatePrincipalPolicy`) which actions
the caller's identity policies do not allow; `principal_for` turns the caller's STS identity
into the principal to simulate. The simulator sees identity policies and permissions
boundaries: a service control policy or a key policy refusing more is only met on apply.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLICY_PATH = Path(__file__).resolve().parents[2] / "policy" / "cdcbench-aws.json"
"""The IAM policy document granting everything `required_actions` and `RUN_ACTIONS` name."""

SIMULATION_BATCH = 100
"""Actions per SimulatePrincipalPolicy call. AWS bounds each action name (3 to 128
characters), not how many a call names; 100 keeps a request small and its results within
one page of IAM's default page size (100; `MaxItems` goes up to 1000)."""

PASSED_TO_SERVICES = (
    "dms.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "firehose.amazonaws.com",
    "fis.amazonaws.com",
    "kafkaconnect.amazonaws.com",
    "lambda.amazonaws.com",
)
"""The services the patterns' roles are passed to (DMS endpoints, ECS tasks: the Locust
workers, the Firehose delivery stream, AWS FIS experiments, the MSK Connect connector,
Lambda functions)."""

LINKED_ROLE_SERVICES = (
    "ecs.amazonaws.com",
    "kafka.amazonaws.com",
    "kafkaconnect.amazonaws.com",
    "rds.amazonaws.com",
)
"""The services that create their service-linked role the first time an account uses them
(ECS, MSK, MSK Connect, RDS/Aurora)."""

_PASS_ROLE = "iam:PassRole"
_LINKED_ROLE = "iam:CreateServiceLinkedRole"
_RDS_TAGS = ("rds:AddTagsToResource", "rds:ListTagsForResource", "rds:RemoveTagsFromResource")
_DMS_TAGS = ("dms:AddTagsToResource", "dms:ListTagsForResource", "dms:RemoveTagsFromResource")
_EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
_LAMBDA_TAGS = ("lambda:ListTags", "lambda:TagResource", "lambda:UntagResource")
_ECS_TAGS = ("ecs:ListTagsForResource", "ecs:TagResource", "ecs:UntagResource")
_KAFKA_TAGS = ("kafka:ListTagsForResource", "kafka:TagResource", "kafka:UntagResource")
_KAFKACONNECT_TAGS = (
    "kafkaconnect:ListTagsForResource",
    "kafkaconnect:TagResource",
    "kafkaconnect:UntagResource",
)
_RULES = (
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:DescribeSecurityGroups",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)
# The network interfaces Lambda leaves in a subnet or group for a while after its function
# is gone: the provider deletes them before the subnet or group.
_LINGERING_INTERFACES = (
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DetachNetworkInterface",
)
_IN_A_VPC = ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
# RDS keeps a generated master password in a Secrets Manager secret of its own.
_MANAGED_PASSWORD = ("secretsmanager:CreateSecret", "secretsmanager:TagResource")
_DMS_ENDPOINT = (
    "dms:CreateEndpoint",
    "dms:DeleteEndpoint",
    "dms:DescribeEndpoints",
    "dms:ModifyEndpoint",
    *_DMS_TAGS,
    _PASS_ROLE,
)
_DB_INSTANCE = (
    "rds:CreateDBInstance",
    "rds:DeleteDBInstance",
    "rds:DescribeDBInstances",
    "rds:ModifyDBInstance",
    *_RDS_TAGS,
    _LINKED_ROLE,
)

ACTIONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "aws_cloudwatch_log_group": (
        "logs:AssociateKmsKey",
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DeleteRetentionPolicy",
        "logs:DescribeLogGroups",
        "logs:DisassociateKmsKey",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagLogGroup",
        "logs:TagResource",
        "logs:UntagLogGroup",
        "logs:UntagResource",
    ),
    "aws_db_instance": (
        *_DB_INSTANCE,
        "rds:RebootDBInstance",
        *_MANAGED_PASSWORD,
        *_IN_A_VPC,
    ),
    "aws_db_parameter_group": (
        "rds:CreateDBParameterGroup",
        "rds:DeleteDBParameterGroup",
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:ModifyDBParameterGroup",
        "rds:ResetDBParameterGroup",
        *_RDS_TAGS,
    ),
    "aws_db_subnet_group": (
        "rds:CreateDBSubnetGroup",
        "rds:DeleteDBSubnetGroup",
        "rds:DescribeDBSubnetGroups",
        "rds:ModifyDBSubnetGroup",
        *_RDS_TAGS,
        "ec2:DescribeSubnets",
    ),
    "aws_default_security_group": (*_RULES, *_EC2_TAGS),
    "aws_dms_endpoint": _DMS_ENDPOINT,
    "aws_dms_replication_instance": (
        "dms:CreateReplicationInstance",
        "dms:DeleteReplicationInstance",
        "dms:DescribeReplicationInstances",
        "dms:ModifyReplicationInstance",
        *_DMS_TAGS,
        *_IN_A_VPC,
    ),
    "aws_dms_replication_subnet_group": (
        "dms:CreateReplicationSubnetGroup",
        "dms:DeleteReplicationSubnetGroup",
        "dms:DescribeReplicationSubnetGroups",
        "dms:ModifyReplicationSubnetGroup",
        *_DMS_TAGS,
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ),
    "aws_dms_replication_task": (
        "dms:CreateReplicationTask",
        "dms:DeleteReplicationTask",
        "dms:DescribeReplicationTasks",
        "dms:ModifyReplicationTask",
        "dms:StartReplicationTask",
        "dms:StopReplicationTask",
        *_DMS_TAGS,
    ),
    "aws_dms_s3_endpoint": _DMS_ENDPOINT,
    "aws_ecs_cluster": (
        "ecs:CreateCluster",
        "ecs:DeleteCluster",
        "ecs:DescribeClusters",
        "ecs:UpdateCluster",
        "ecs:UpdateClusterSettings",
        *_ECS_TAGS,
        _LINKED_ROLE,
    ),
    "aws_ecs_service": (
        "ecs:CreateService",
        "ecs:DeleteService",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        *_ECS_TAGS,
        *_IN_A_VPC,
    ),
    "aws_ecs_task_definition": (
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        *_ECS_TAGS,
        _PASS_ROLE,
    ),
    "aws_dynamodb_table": (
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:ListTagsOfResource",
        "dynamodb:TagResource",
        "dynamodb:UntagResource",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:UpdateTable",
        "dynamodb:UpdateTimeToLive",
        # the provider reads the AWS managed key's ARN (alias/aws/dynamodb) of an encrypted table
        "kms:DescribeKey",
    ),
    "aws_iam_role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
        _PASS_ROLE,
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
    ),
    "aws_iam_role_policy": ("iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy"),
    "aws_kinesis_firehose_delivery_stream": (
        "firehose:CreateDeliveryStream",
        "firehose:DeleteDeliveryStream",
        "firehose:DescribeDeliveryStream",
        "firehose:ListTagsForDeliveryStream",
        "firehose:StartDeliveryStreamEncryption",
        "firehose:StopDeliveryStreamEncryption",
        "firehose:TagDeliveryStream",
        "firehose:UntagDeliveryStream",
        "firehose:UpdateDestination",
        _PASS_ROLE,
    ),
    "aws_kinesis_stream": (
        "kinesis:AddTagsToStream",
        "kinesis:CreateStream",
        "kinesis:DecreaseStreamRetentionPeriod",
        "kinesis:DeleteStream",
        "kinesis:DescribeLimits",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:DisableEnhancedMonitoring",
        "kinesis:EnableEnhancedMonitoring",
        "kinesis:IncreaseStreamRetentionPeriod",
        "kinesis:ListTagsForResource",
        "kinesis:ListTagsForStream",
        "kinesis:RemoveTagsFromStream",
        "kinesis:StartStreamEncryption",
        "kinesis:StopStreamEncryption",
        "kinesis:TagResource",
        "kinesis:UntagResource",
        "kinesis:UpdateShardCount",
        "kinesis:UpdateStreamMode",
    ),
    "aws_lambda_event_source_mapping": (
        "lambda:CreateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        *_LAMBDA_TAGS,
    ),
    "aws_lambda_function": (
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:DeleteFunctionConcurrency",
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:GetFunctionConcurrency",
        "lambda:GetFunctionConfiguration",
        "lambda:ListVersionsByFunction",
        "lambda:PutFunctionConcurrency",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        *_LAMBDA_TAGS,
        _PASS_ROLE,
        *_IN_A_VPC,
    ),
    "aws_msk_cluster": (
        "kafka:CreateCluster",
        "kafka:DeleteCluster",
        "kafka:DescribeCluster",
        "kafka:DescribeClusterOperation",
        "kafka:DescribeClusterV2",
        "kafka:GetBootstrapBrokers",
        *_KAFKA_TAGS,
        "kafka:UpdateBrokerCount",
        "kafka:UpdateBrokerStorage",
        "kafka:UpdateBrokerType",
        "kafka:UpdateClusterConfiguration",
        "kafka:UpdateClusterKafkaVersion",
        "kafka:UpdateMonitoring",
        "kafka:UpdateSecurity",
        _LINKED_ROLE,
        *_IN_A_VPC,
        # broker logs delivered to CloudWatch Logs
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    ),
    "aws_mskconnect_connector": (
        "kafkaconnect:CreateConnector",
        "kafkaconnect:DeleteConnector",
        "kafkaconnect:DescribeConnector",
        "kafkaconnect:UpdateConnector",
        *_KAFKACONNECT_TAGS,
        _PASS_ROLE,
        _LINKED_ROLE,
        "ec2:CreateNetworkInterface",
        *_IN_A_VPC,
    ),
    "aws_mskconnect_custom_plugin": (
        "kafkaconnect:CreateCustomPlugin",
        "kafkaconnect:DeleteCustomPlugin",
        "kafkaconnect:DescribeCustomPlugin",
        *_KAFKACONNECT_TAGS,
        "s3:GetObject",  # MSK Connect reads the plugin's file as the caller
    ),
    "aws_rds_cluster": (
        "rds:CreateDBCluster",
        "rds:DeleteDBCluster",
        "rds:DescribeDBClusters",
        "rds:DescribeGlobalClusters",
        "rds:ModifyDBCluster",
        *_RDS_TAGS,
        _LINKED_ROLE,
        *_MANAGED_PASSWORD,
        *_IN_A_VPC,
    ),
    "aws_rds_cluster_instance": (*_DB_INSTANCE, "rds:DescribeDBClusters"),
    "aws_route_table": (
        "ec2:CreateRoute",
        "ec2:CreateRouteTable",
        "ec2:DeleteRoute",
        "ec2:DeleteRouteTable",
        "ec2:DescribeRouteTables",
        "ec2:DisassociateRouteTable",
        *_EC2_TAGS,
    ),
    "aws_route_table_association": (
        "ec2:AssociateRouteTable",
        "ec2:DescribeRouteTables",
        "ec2:DisassociateRouteTable",
        "ec2:ReplaceRouteTableAssociation",
    ),
    "aws_s3_bucket": (
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLocation",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketPolicy",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:PutBucketTagging",
        # force_destroy empties the bucket first
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:ListBucketVersions",
    ),
    "aws_s3_bucket_lifecycle_configuration": (
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    "aws_s3_bucket_ownership_controls": (
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    "aws_s3_bucket_policy": (
        "s3:DeleteBucketPolicy",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
    ),
    "aws_s3_bucket_public_access_block": (
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ),
    "aws_s3_bucket_server_side_encryption_configuration": (
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
    ),
    "aws_s3_bucket_versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning"),
    "aws_s3_object": (
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:GetObjectTagging",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:PutObject",
        "s3:PutObjectTagging",
    ),
    "aws_security_group": (
        "ec2:CreateSecurityGroup",
        "ec2:DeleteSecurityGroup",
        *_RULES,
        *_EC2_TAGS,
        *_LINGERING_INTERFACES,
    ),
    "aws_sqs_queue": (
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ListQueueTags",
        "sqs:SetQueueAttributes",
        "sqs:TagQueue",
        "sqs:UntagQueue",
    ),
    "aws_sqs_queue_redrive_allow_policy": ("sqs:GetQueueAttributes", "sqs:SetQueueAttributes"),
    "aws_subnet": (
        "ec2:CreateSubnet",
        "ec2:DeleteSubnet",
        "ec2:DescribeSubnets",
        "ec2:ModifySubnetAttribute",
        *_EC2_TAGS,
        *_LINGERING_INTERFACES,
    ),
    "aws_vpc": (
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcs",
        "ec2:ModifyVpcAttribute",
        *_EC2_TAGS,
    ),
    "aws_vpc_endpoint": (
        "ec2:CreateVpcEndpoint",
        "ec2:DeleteVpcEndpoints",
        "ec2:DescribePrefixLists",
        "ec2:DescribeVpcEndpoints",
        "ec2:ModifyVpcEndpoint",
        *_EC2_TAGS,
        # an interface endpoint's private DNS: its hosted zone is associated with the VPC
        "route53:AssociateVPCWithHostedZone",
    ),
    "aws_vpc_security_group_egress_rule": (
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:DescribeSecurityGroupRules",
        "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupEgress",
        *_EC2_TAGS,
    ),
    # data sources (aws_region, aws_partition and aws_iam_policy_document call nothing)
    "data.aws_availability_zones": ("ec2:DescribeAvailabilityZones",),
    "data.aws_iam_policy_document": (),
    "data.aws_caller_identity": ("sts:GetCallerIdentity",),
    "data.aws_partition": (),
    "data.aws_region": (),
    "data.aws_subnet": ("ec2:DescribeSubnets",),
}
"""Per Terraform type the patterns use (a data source as `data.<type>`): the actions that
create, read, update, tag and delete it, and what the service requires of the caller."""

PROVIDER_ACTIONS = ("sts:GetCallerIdentity",)
"""What Terraform's AWS provider calls whatever it deploys (it asks who it is)."""

PREFLIGHT_ACTIONS = (
    "sts:GetCallerIdentity",
    "iam:SimulatePrincipalPolicy",
    "iam:GetRole",  # `principal_for` with an IAM client: the role's path
    "servicequotas:GetServiceQuota",
    "ec2:DescribeVpcs",
    "secretsmanager:GetSecretValue",  # the source database's password (--source-secret)
)
APPLICATION_ACTIONS = (
    "dynamodb:PutItem",  # the direct pattern's application; the DynamoDB publisher
    "kinesis:PutRecords",  # the Kinesis publisher
    "sqs:SendMessage",  # the application's events (after or before commit)
    "sqs:SendMessageBatch",  # the outbox relay
    "sqs:GetQueueAttributes",  # how many messages the dead-letter queues hold
)
OBSERVER_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeStream",  # DynamoDB Streams
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "kinesis:DescribeStream",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "s3:GetObject",
    "s3:ListBucket",
    "secretsmanager:GetSecretValue",  # the replica's credentials
    # the Kafka observer reads the topic at the brokers the outputs name
    "kafka:DescribeClusterV2",
    "kafka:GetBootstrapBrokers",
)
TEARDOWN_ACTIONS = ("dms:DescribeReplicationTasks", "dms:StopReplicationTask")
WORKER_ACTIONS = (
    "ecs:UpdateService",  # the workers scaled for each load
    "secretsmanager:CreateSecret",  # the source's password for them, when not in a secret
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",  # --source-secret's ARN for their task definition
    "secretsmanager:TagResource",
    "s3:GetObject",  # their ledgers
    "s3:ListBucket",
)
GC_ACTIONS = (
    "tag:GetResources",
    "iam:ListPolicies",
    "iam:ListPolicyTags",
    "iam:ListRoleTags",
    "iam:ListRoles",
    "kinesis:ListStreams",
    "kinesis:ListTagsForStream",
    # deleting each kind of leftover the patterns create, through its own service
    "dms:DeleteEndpoint",
    "dms:DeleteReplicationInstance",
    "dms:DeleteReplicationSubnetGroup",
    "dms:DeleteReplicationTask",
    "dms:DescribeReplicationInstances",
    "dms:DescribeReplicationTasks",
    "dms:StopReplicationTask",
    "dynamodb:DeleteTable",
    "ecs:DeleteCluster",
    "ecs:DeleteService",
    "ecs:DeleteTaskDefinitions",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
    "ec2:DisassociateRouteTable",
    "firehose:DeleteDeliveryStream",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:RemoveRoleFromInstanceProfile",
    "kafka:DeleteCluster",
    "kafka:DescribeCluster",
    "kafkaconnect:DeleteConnector",
    "kafkaconnect:DeleteCustomPlugin",
    "kafkaconnect:DescribeConnector",
    "kinesis:DeleteStream",
    "lambda:DeleteEventSourceMapping",
    "lambda:DeleteFunction",
    "lambda:ListEventSourceMappings",
    "logs:DeleteLogGroup",
    "rds:DeleteDBCluster",
    "rds:DeleteDBInstance",
    "rds:DeleteDBSubnetGroup",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "s3:AbortMultipartUpload",
    "s3:DeleteBucket",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "secretsmanager:DeleteSecret",
    "sqs:DeleteQueue",
    "sqs:GetQueueUrl",
)
FAULT_ACTIONS = (
    "dms:DescribeReplicationInstances",  # dms_instance_reboot
    "dms:DescribeReplicationTasks",
    "dms:RebootReplicationInstance",
    "dms:StartReplicationTask",  # dms_task_stop, and the resumes after a reboot
    "dms:StopReplicationTask",
    "dynamodb:DescribeTable",  # dynamodb_throttle
    "dynamodb:UpdateTable",
    "fis:CreateExperimentTemplate",  # lambda_errors, an AWS FIS experiment
    "fis:DeleteExperimentTemplate",
    "fis:GetExperiment",
    "fis:StartExperiment",
    "fis:StopExperiment",
    "iam:GetRole",  # the experiments' role
    _PASS_ROLE,  # to FIS
    "lambda:DeleteFunctionConcurrency",  # lambda_throttle
    "lambda:GetFunctionConcurrency",
    "lambda:GetFunctionConfiguration",  # where each function's FIS extension reads faults
    "lambda:GetLayerVersion",  # the FIS extension's layer, put on the functions
    "lambda:PutFunctionConcurrency",
    "sqs:GetQueueAttributes",  # queue_sends_denied
    "sqs:SetQueueAttributes",
    "ssm:GetParameter",  # the FIS extension's layer ARN in the region
)
RUN_ACTIONS: tuple[str, ...] = tuple(
    sorted(
        {
            *PREFLIGHT_ACTIONS,
            *APPLICATION_ACTIONS,
            *OBSERVER_ACTIONS,
            *TEARDOWN_ACTIONS,
            *WORKER_ACTIONS,
            *GC_ACTIONS,
            *FAULT_ACTIONS,
        }
    )
)
"""What the harness calls itself on AWS: the preflight, the application and the publishers,
the observers, stopping DMS tasks before destroy, the Locust workers, `cdcbench gc`, and the
faults a scenario schedules."""

KEY_ACTIONS = (
    "kms:CreateGrant",  # services encrypting with the key (tables, clusters, instances)
    "kms:Decrypt",  # reading encrypted records, objects, messages and secrets
    "kms:DescribeKey",
    "kms:Encrypt",  # Lambda environment variables
    "kms:GenerateDataKey",  # writing encrypted records, objects and messages
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ListAliases",  # DMS looks the key up
)
"""What a customer managed key (`kms_key_arn`) asks of the caller besides."""


@dataclass(frozen=True)
class ContextEntry:
    """A request context key and its value, as the policy simulator takes it."""

    key: str
    value: str
    type: str = "string"

    def entry(self) -> dict[str, Any]:
        return {
            "ContextKeyName": self.key,
            "ContextKeyValues": [self.value],
            "ContextKeyType": self.type,
        }


ACTION_CONTEXTS: dict[str, tuple[ContextEntry, ...]] = {
    _PASS_ROLE: tuple(ContextEntry("iam:PassedToService", s) for s in PASSED_TO_SERVICES),
    _LINKED_ROLE: tuple(ContextEntry("iam:AWSServiceName", s) for s in LINKED_ROLE_SERVICES),
    "kms:CreateGrant": (ContextEntry("kms:GrantIsForAWSResource", "true", "boolean"),),
}
"""The actions the policy grants under a condition, with each request context they must be
allowed in: `missing_actions` simulates them once per context, and reports one as missing
unless every one is allowed."""


def required_actions(
    resource_types: Iterable[str], *, customer_managed_key: bool = False
) -> list[str]:
    """The actions deploying and destroying these Terraform types needs (plus the provider's
    own), sorted and without duplicates; with `customer_managed_key`, those the key asks
    for too. KeyError naming a type `ACTIONS_BY_TYPE` does not know (a new type must be
    added there, and to the policy, not slip by)."""
    actions = set(PROVIDER_ACTIONS)
    for resource_type in resource_types:
        if resource_type not in ACTIONS_BY_TYPE:
            raise KeyError(
                f"no permissions known for Terraform type {resource_type}: add it to "
                f"harness.targets.permissions.ACTIONS_BY_TYPE and {POLICY_PATH.name}"
            )
        actions.update(ACTIONS_BY_TYPE[resource_type])
    if customer_managed_key:
        actions.update(KEY_ACTIONS)
    return sorted(actions)


def load_policy() -> dict[str, Any]:
    """The policy document at `POLICY_PATH`."""
    document: dict[str, Any] = json.loads(POLICY_PATH.read_text())
    return document


def principal_for(caller_arn: str, iam: Any = None) -> str:
    """The IAM principal whose policies govern `caller_arn` (STS GetCallerIdentity's Arn).

    An assumed-role session (`arn:aws:sts::123:assumed-role/Role/session`) becomes its role,
    `arn:aws:iam::123:role/Role`. The session ARN does not carry the role's path, so a role
    with one (`/service-role/`, IAM Identity Center's `/aws-reserved/sso.amazonaws.com/...`)
    comes out without it, which the simulator does not find (NoSuchEntity): given an IAM
    client (`iam`, which needs `iam:GetRole`), the role's ARN is read from IAM instead.
    Any other ARN (an IAM user's, a role's) is returned as it is; the account root and
    federated users have no identity policies to simulate."""
    prefix, _, resource = caller_arn.partition(":assumed-role/")
    if not resource or not prefix.startswith("arn:") or ":sts::" not in prefix:
        return caller_arn
    role = resource.split("/", 1)[0]
    if iam is not None:
        return str(iam.get_role(RoleName=role)["Role"]["Arn"])
    partition_and_account = prefix.removeprefix("arn:").replace(":sts::", ":iam::", 1)
    return f"arn:{partition_and_account}:role/{role}"


def missing_actions(
    iam_client: Any,
    principal_arn: str,
    actions: list[str],
    contexts: Mapping[str, Sequence[ContextEntry]] = ACTION_CONTEXTS,
) -> list[str]:
    """The actions (sorted) that `principal_arn`'s policies do not allow on "*", by IAM's
    policy simulator: an EvalDecision other than "allowed" (implicit or explicit deny), or
    no answer at all. An action in `contexts` is simulated in each of its contexts and is
    missing unless it is allowed in all of them. Raises botocore's ClientError when the
    simulation itself is refused (e.g. without iam:SimulatePrincipalPolicy)."""
    wanted = sorted(set(actions))
    allowed: dict[str, bool] = {}
    plain = [a for a in wanted if a not in contexts]
    for start in range(0, len(plain), SIMULATION_BATCH):
        batch = plain[start : start + SIMULATION_BATCH]
        allowed.update(_simulated(iam_client, principal_arn, batch, ()))
    for action in wanted:
        if action in contexts:
            decisions = [
                _simulated(iam_client, principal_arn, [action], (context,)).get(action, False)
                for context in contexts[action]
            ]
            allowed[action] = all(decisions)
    return [a for a in wanted if not allowed.get(a, False)]


def _simulated(
    iam_client: Any, principal_arn: str, actions: list[str], context: Sequence[ContextEntry]
) -> dict[str, bool]:
    """Whether each of `actions` is allowed (all pages of one simulation)."""
    by_lower = {a.lower(): a for a in actions}
    request: dict[str, Any] = {"PolicySourceArn": principal_arn, "ActionNames": actions}
    if context:
        request["ContextEntries"] = [c.entry() for c in context]
    decisions: dict[str, bool] = {}
    for page in iam_client.get_paginator("simulate_principal_policy").paginate(**request):
        for result in page.get("EvaluationResults", []):
            name = by_lower.get(str(result["EvalActionName"]).lower())
            if name is not None:
                ok = result.get("EvalDecision") == "allowed"
                decisions[name] = decisions.get(name, True) and ok
    return decisions
