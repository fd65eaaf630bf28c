"""The local Lambda runtime: runs the functions and event-source mappings Terraform created."""
