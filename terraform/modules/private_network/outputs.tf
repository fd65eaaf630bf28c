output "vpc_id" {
  description = "The created VPC, or vpc_id with subnet_ids."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "The two created private subnets (in two availability zones), or subnet_ids."
  value       = local.subnet_ids
}

output "availability_zones" {
  description = "Availability zones of the created subnets, in subnet_ids' order; empty with given subnet_ids (their zones are not looked up)."
  value       = aws_subnet.private[*].availability_zone
}

output "route_table_id" {
  description = "Route table of the created subnets that holds the gateway endpoints; null without gateway endpoints (the VPC's main route table serves) or with subnet_ids."
  value       = one(aws_route_table.private[*].id)
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints (clients need HTTPS egress to it); null without interface endpoints."
  value       = one(aws_security_group.endpoints[*].id)
}

output "gateway_endpoint_ids" {
  description = "Gateway endpoint ids by service (s3, dynamodb)."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.id }
}

output "interface_endpoint_ids" {
  description = "Interface endpoint ids by service."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}
