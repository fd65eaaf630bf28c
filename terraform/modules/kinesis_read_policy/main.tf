# The IAM statements a consumer needs to read one Kinesis stream, for the callers'
# aws_iam_policy_document to take in a `dynamic "statement"` block. What each kind of reader
# needs, and no more:
#   lambda   - Lambda's Kinesis poller reads shards on the function role's behalf: the
#              describes, GetRecords, GetShardIterator and ListShards on the stream, and
#              ListStreams, which names no stream (resource *).
#   firehose - a delivery stream with a Kinesis source: DescribeStream, GetRecords,
#              GetShardIterator and ListShards on the stream, nothing else.
locals {
  read_actions = {
    lambda = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    firehose = [
      "kinesis:DescribeStream",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
  }

  statements = concat(
    [{ sid = var.sid, actions = local.read_actions[var.reader], resources = [var.stream_arn] }],
    var.reader == "lambda" ? [{ sid = "ListStreams", actions = ["kinesis:ListStreams"], resources = ["*"] }] : [],
  )
}
