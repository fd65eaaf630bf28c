# Values for `terraform test` runs with `mock_provider "aws" { source = "../../mocks/aws" }`:
# what the provider would compute, where a random mock string would not pass its own
# validation (a policy must be JSON) or a module indexes into it (two availability zones).
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["us-east-1a", "us-east-1b"]
  }
}
