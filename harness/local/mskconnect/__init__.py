"""The local MSK Connect engine: runs the connectors Terraform created, as MSK Connect would.

It reads connectors through the emulated kafkaconnect API and never knows which pattern
created them. `engine.MskConnectEngine` is the control loop; `s3_sink.S3Sink` runs one
connector as Confluent's S3 sink connector (`io.confluent.connect.s3.S3SinkConnector`), with
its settings checked by `config`, its objects cut by `partition_writer` and each record
written by `json_format`.
"""
