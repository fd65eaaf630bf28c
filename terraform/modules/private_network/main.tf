# A private network for a pattern's VPC-bound pieces. Without `subnet_ids` it creates a VPC
# with no way out but the AWS endpoints asked for: its default security group allows nothing,
# two private subnets sit in two availability zones (DMS and Aurora subnet groups both need
# two), and gateway endpoints (S3, DynamoDB) get a route table of their own. With
# `subnet_ids` (and `vpc_id`) it creates no VPC and uses those. Interface endpoints, in either,
# get private DNS and one security group admitting HTTPS from inside the created VPC, or only
# from the given client security groups.
locals {
  create_vpc = length(var.subnet_ids) == 0
  vpc_id     = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.subnet_ids

  endpoint_clients = var.endpoint_security_group.client_security_group_ids
  endpoint_security_group = {
    name = coalesce(var.endpoint_security_group.name, "${var.name}-endpoints")
    description = coalesce(
      var.endpoint_security_group.description,
      length(local.endpoint_clients) == 0
      ? "Interface endpoints of ${var.name}: HTTPS from inside the VPC"
      : "Interface endpoints of ${var.name}: HTTPS from the client security groups only",
    )
    client_description = coalesce(
      var.endpoint_security_group.client_description,
      length(local.endpoint_clients) == 0 ? "HTTPS from the VPC" : "HTTPS from the client security groups",
    )
  }
}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first two zones are used, and any region's zones must do
  count = local.create_vpc ? 1 : 0
  state = "available"
}

# --- the VPC (only without subnet_ids) -------------------------------------------------------

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:a private VPC living one benchmark run; pass subnet_ids to run in a VPC with flow logs
  count              = local.create_vpc ? 1 : 0
  cidr_block         = var.vpc_cidr
  enable_dns_support = true # what runs inside resolves its endpoints' host names
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

# Without gateway endpoints the subnets keep the VPC's main route table, which routes inside
# the VPC only: nothing here leaves it (no internet or NAT gateway).
resource "aws_route_table" "private" {
  count  = local.create_vpc && length(var.gateway_endpoints) > 0 ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count          = length(aws_route_table.private) > 0 ? 2 : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(local.create_vpc ? var.gateway_endpoints : [])
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]
  tags              = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

# --- interface endpoints (in the created VPC or the given one) --------------------------------

resource "aws_security_group" "endpoints" {
  count       = length(var.interface_endpoints) > 0 ? 1 : 0
  name        = local.endpoint_security_group.name
  description = local.endpoint_security_group.description
  vpc_id      = local.vpc_id
  tags        = merge(var.tags, { Name = local.endpoint_security_group.name })

  ingress {
    description = local.endpoint_security_group.client_description
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    # A given VPC's CIDR block is not known here: its clients are named by security group.
    cidr_blocks     = length(local.endpoint_clients) == 0 ? [var.vpc_cidr] : null
    security_groups = length(local.endpoint_clients) == 0 ? null : local.endpoint_clients
  }

  lifecycle {
    precondition {
      condition     = local.create_vpc || var.vpc_id != null
      error_message = "vpc_id must name the VPC of subnet_ids: the interface endpoints and their security group are created in it."
    }

    precondition {
      condition     = local.create_vpc || length(local.endpoint_clients) > 0
      error_message = "With subnet_ids, endpoint_security_group.client_security_group_ids must name who may reach the interface endpoints: only the created VPC's CIDR block is admitted by default."
    }
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
