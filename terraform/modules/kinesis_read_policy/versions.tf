# No provider: the statements are plain values, so the policy documents that take them keep
# their own statement lists (and tests read them there).
terraform {
  required_version = ">= 1.5"
}
