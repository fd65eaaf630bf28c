# A DMS replication instance in private subnets: its subnet group, a security group that
# allows only the egress DMS needs, and the account's `dms-vpc-role` that DMS requires
# before it can manage subnet groups. Without `subnet_ids` a small VPC is created with two
# private subnets in two availability zones (DMS requires two) and gateway endpoints so the
# instance reaches S3 and DynamoDB without a NAT gateway; give `subnet_ids` to run the
# instance next to the source database instead.
locals {
  create_vpc = length(var.subnet_ids) == 0
  subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.subnet_ids
  vpc_id     = local.create_vpc ? aws_vpc.this[0].id : data.aws_subnet.given[0].vpc_id
}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first two zones are used, and any region's zones must do
  count = local.create_vpc ? 1 : 0
  state = "available"
}

data "aws_subnet" "given" {
  count = local.create_vpc ? 0 : 1
  id    = var.subnet_ids[0]
}

# --- network (only without subnet_ids) -----------------------------------------------------

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:a private VPC living one benchmark run; pass subnet_ids to run in a VPC with flow logs
  count              = local.create_vpc ? 1 : 0
  cidr_block         = var.vpc_cidr
  enable_dns_support = true # the instance resolves its endpoints' host names
  # Private DNS names of interface endpoints need DNS host names (setting them costs an
  # extra wait on apply, so only when there are interface endpoints).
  enable_dns_hostnames = length(var.interface_endpoints) > 0 ? true : null
  tags                 = merge(var.tags, { Name = var.name })
}

# The VPC's default security group allows nothing.
resource "aws_default_security_group" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count                   = local.create_vpc ? 2 : 0
  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone       = data.aws_availability_zones.available[0].names[count.index]
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-private-${count.index}" })
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count          = local.create_vpc ? 2 : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(local.create_vpc ? ["s3", "dynamodb"] : [])
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]
  tags              = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

# Interface endpoints (e.g. lambda, sts for an MSK event-source mapping's pollers), reachable
# on 443 from inside the VPC.
resource "aws_security_group" "endpoints" {
  count       = local.create_vpc && length(var.interface_endpoints) > 0 ? 1 : 0
  name        = "${var.name}-endpoints"
  description = "Interface endpoints of ${var.name}: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this[0].id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })

  ingress {
    description = "HTTPS from the VPC"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = [var.vpc_cidr]
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(local.create_vpc ? var.interface_endpoints : [])
  vpc_id              = aws_vpc.this[0].id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
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
