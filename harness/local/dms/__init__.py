"""The local DMS engine: runs the replication tasks Terraform created, as AWS DMS would.

It reads tasks and endpoints through the emulated DMS API and never knows which
pattern created them. `engine.DmsEngine` is the control loop; `task.TaskRunner`
moves one task's changes from a source (`sources/`) to a target (`targets/`) in
DMS's documented formats.
"""
