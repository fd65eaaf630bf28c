# The read model waits for the projector's batching window, the event store for the sink's
# rotation when it writes more than one record per object, the topic for nothing.
# `terraform test` from this folder once cdcbench has built functions/projector.zip (it does
# before every apply and test); no AWS needed: the provider is mocked.
mock_provider "aws" {
  source = "../../mocks/aws"
}

variables {
  run_id            = "floors-test"
  source_connection = { host = "db.example", database = "app", username = "cdc" }
  # any zip does for a plan
  s3_sink_plugin_package = "functions/projector.zip"
}

run "floors_are_zero_by_default" {
  command = plan

  assert {
    condition     = output.lag_floors_ms == { topic = 0, event_store = 0, read_model = 0 }
    error_message = "no configured window by default (flush size 1, batching window 0)"
  }
}

run "floors_follow_the_windows" {
  command = plan

  variables {
    projector_batching_window_s = 2
    s3_sink_flush_size          = 50
    s3_sink_rotate_interval_s   = 30
  }

  assert {
    condition     = output.lag_floors_ms == { topic = 0, event_store = 30000, read_model = 2000 }
    error_message = "the read model waits for the batching window, the event store for the rotation"
  }
}

# The replication instance's network (modules/dms_replication without subnet_ids) with what
# this pattern asks of it: S3 and DynamoDB through gateway endpoints, lambda and sts through
# interface endpoints for the Kafka event-source mapping's pollers.
run "the_replication_network_reaches_aws_through_endpoints_only" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name                = "cdcbench-floors-test-msklambda"
    gateway_endpoints   = ["s3", "dynamodb"]
    interface_endpoints = ["lambda", "sts"]
  }

  assert {
    condition = (
      length(aws_vpc.this) == 1 && aws_vpc.this[0].cidr_block == "10.64.0.0/16" && aws_vpc.this[0].enable_dns_hostnames
      && length(aws_subnet.private) == 2
      && aws_subnet.private[0].availability_zone != aws_subnet.private[1].availability_zone
      && (!aws_subnet.private[0].map_public_ip_on_launch) && (!aws_subnet.private[1].map_public_ip_on_launch)
    )
    error_message = "a VPC with DNS host names (for the endpoints' private DNS) and two private subnets in two zones"
  }

  assert {
    condition = (
      length(aws_route_table.private) == 1 && length(aws_route_table_association.private) == 2
      && jsonencode({ for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.vpc_endpoint_type })
      == jsonencode({ dynamodb = "Gateway", s3 = "Gateway" })
    )
    error_message = "both subnets route to S3 and DynamoDB through gateway endpoints on their own route table"
  }

  assert {
    condition = (
      jsonencode({ for service, endpoint in aws_vpc_endpoint.interface : service => [endpoint.vpc_endpoint_type, endpoint.private_dns_enabled] })
      == jsonencode({ lambda = ["Interface", true], sts = ["Interface", true] })
    )
    error_message = "lambda and sts through interface endpoints with private DNS"
  }

  assert {
    condition = (
      aws_security_group.endpoints[0].name == "cdcbench-floors-test-msklambda-endpoints"
      && jsonencode([for rule in aws_security_group.endpoints[0].ingress : [rule.from_port, rule.to_port, rule.cidr_blocks, rule.security_groups]])
      == jsonencode([[443, 443, ["10.64.0.0/16"], null]])
    )
    error_message = "the interface endpoints admit HTTPS from inside the VPC only"
  }
}

run "the_replication_network_without_interface_endpoints_has_no_endpoint_group" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name              = "cdcbench-floors-test-msklambda"
    gateway_endpoints = ["s3", "dynamodb"]
  }

  assert {
    condition = (
      length(aws_vpc_endpoint.gateway) == 2 && length(aws_route_table.private) == 1
      && length(aws_vpc_endpoint.interface) == 0 && length(aws_security_group.endpoints) == 0
    )
    error_message = "without interface endpoints: the gateway endpoints only, no endpoint group"
  }
}

run "given_subnets_keep_their_own_routes" {
  command = plan

  module {
    source = "../../modules/private_network"
  }

  variables {
    name              = "cdcbench-floors-test-msklambda"
    subnet_ids        = ["subnet-0aaa", "subnet-0bbb"]
    gateway_endpoints = ["s3", "dynamodb"]
  }

  assert {
    condition = (
      length(aws_vpc.this) == 0 && length(aws_subnet.private) == 0 && length(aws_route_table.private) == 0
      && length(aws_vpc_endpoint.gateway) == 0 && output.subnet_ids == tolist(["subnet-0aaa", "subnet-0bbb"])
    )
    error_message = "with subnet_ids, nothing of the network is created: gateway endpoints are for the created VPC's routes"
  }
}
