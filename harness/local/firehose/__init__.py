"""The local Firehose engine: delivery streams' S3 deliveries, buffered as AWS buffers them.

moto writes one S3 object per PutRecord/PutRecordBatch, at once, so an archive fed through
Firehose would show neither AWS's object sizes nor its delay. moto's part is kept to handing
records over (`harness.local.moto_fixes.data_plane.firehose`); this engine, in the harness
process beside the other local engines, buffers them and writes the objects through the S3 API.

- `s3_objects`: what AWS writes: object keys, record delimiters, compression, and what an S3
  destination may ask for that is not emulated (refused at CreateDeliveryStream).
- `buffers`: per-stream buffers by the destination's BufferingHints.
- `kinesis_source`: the records of a KinesisStreamAsSource stream, read from its Kinesis
  stream shard by shard as Firehose reads them (moto never reads it).
- `engine`: the control loop that takes the records moto captured or the shards gave and
  delivers the buffers.
"""
