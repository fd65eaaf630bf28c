# A DMS replication instance in private subnets: its subnet group, a security group that
# allows only the egress DMS needs, and the account's `dms-vpc-role` that DMS requires
# before it can manage subnet groups. Without `subnet_ids` a small private network is
# created (two private subnets in two availability zones, as DMS requires) with gateway
# endpoints so the instance reaches S3 and DynamoDB without a NAT gateway; give `subnet_ids`
# to run the instance next to the source database instead.
locals {
  create_vpc = length(var.subnet_ids) == 0
  subnet_ids = module.network.subnet_ids
  vpc_id     = module.network.vpc_id
}

data "aws_subnet" "given" {
  count = local.create_vpc ? 0 : 1
  id    = var.subnet_ids[0]
}

# --- network (a VPC only without subnet_ids) -------------------------------------------------

module "network" {
  source     = "../private_network"
  name       = var.name
  subnet_ids = var.subnet_ids
  vpc_id     = one(data.aws_subnet.given[*].vpc_id)
  vpc_cidr   = var.vpc_cidr
  # S3 and DynamoDB without a NAT gateway. A given VPC keeps its own routes and endpoints.
  gateway_endpoints = ["s3", "dynamodb"]
  # e.g. lambda, sts for an MSK event-source mapping's pollers, reachable on 443 from
  # inside the created VPC
  interface_endpoints = local.create_vpc ? var.interface_endpoints : []
  tags                = var.tags
}

# --- the role DMS needs to manage its network interfaces ------------------------------------

data "aws_iam_policy_document" "dms_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

# DMS looks this role up by its fixed name; an account holds it once.
resource "aws_iam_role" "dms_vpc" {
  count              = var.create_dms_vpc_role ? 1 : 0
  name               = "dms-vpc-role"
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
  tags               = var.tags
}

# The permissions of the AWS managed policy AmazonDMSVPCManagementRole, inline: the same
# on every target, including emulators that do not load AWS managed policies.
data "aws_iam_policy_document" "dms_vpc" {
  #checkov:skip=CKV_AWS_111:EC2 grants network interface creation and these describes on * only
  #checkov:skip=CKV_AWS_356:EC2 grants network interface creation and these describes on * only
  statement {
    sid = "ManageReplicationNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeDhcpOptions",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
      "ec2:ModifyNetworkInterfaceAttribute",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "dms_vpc" {
  count  = var.create_dms_vpc_role ? 1 : 0
  name   = "dms-vpc-management"
  role   = aws_iam_role.dms_vpc[0].id
  policy = data.aws_iam_policy_document.dms_vpc.json
}

# --- the replication instance ----------------------------------------------------------------

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = var.name
  replication_subnet_group_description = "DMS replication subnets of ${var.name}"
  subnet_ids                           = local.subnet_ids
  tags                                 = var.tags

  depends_on = [aws_iam_role_policy.dms_vpc]
}

resource "aws_security_group" "this" {
  name        = "${var.name}-dms"
  description = "DMS replication instance of ${var.name}: no ingress, egress to sources and AWS APIs"
  vpc_id      = local.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dms" })

  dynamic "egress" {
    for_each = toset(var.egress_ports)
    content {
      description = "DMS to its endpoints on port ${egress.value}"
      protocol    = "tcp"
      from_port   = egress.value
      to_port     = egress.value
      cidr_blocks = var.egress_cidr_blocks
    }
  }
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = var.name
  replication_instance_class  = var.instance_class
  allocated_storage           = var.allocated_storage
  engine_version              = var.engine_version
  multi_az                    = var.multi_az
  publicly_accessible         = false
  auto_minor_version_upgrade  = true
  apply_immediately           = true
  kms_key_arn                 = var.kms_key_arn
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.id
  vpc_security_group_ids      = [aws_security_group.this.id]
  tags                        = var.tags
}
