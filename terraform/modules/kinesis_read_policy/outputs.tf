output "statements" {
  description = "The reader's statements, each {sid, actions, resources} (all Allow): the stream's read actions on stream_arn under sid and, for lambda, ListStreams on *."
  value       = local.statements
}
