"""MSK Connect on the local target: the kafkaconnect API in moto (through boto3 and a real
Terraform apply) and the engine running Confluent's S3 sink against the Kafka broker."""

import base64
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import OFFSET_INVALID, Consumer, Producer, TopicPartition

from harness.local.mskconnect.engine import MskConnectEngine
from harness.local.mskconnect.plugin import placeholder_plugin
from tests.conftest import BareCloud
from tests.helpers import terraform_cli, terraform_env, unique, wait_for

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "terraform" / "mskconnect"
S3_SINK = {
    "connector.class": "io.confluent.connect.s3.S3SinkConnector",
    "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
    "partitioner.class": "io.confluent.connect.storage.partitioner.DefaultPartitioner",
    "storage.class": "io.confluent.connect.s3.storage.S3Storage",
    "tasks.max": "2",
    "flush.size": "1",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
}
WAIT_S = 20.0
QUICK_COMMITS = {"offset.flush.interval.ms": "100"}
"""A worker configuration that commits written offsets every 0.1 s (the default is 60 s)."""


@pytest.fixture(scope="module")
def plugin(bare_cloud: BareCloud) -> str:
    """A bucket holding a plugin file, and the custom plugin made of it."""
    s3 = bare_cloud.aws.client("s3")
    bucket = unique("mskc-plugins")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="s3-sink.zip", Body=b"plugin")
    created = bare_cloud.aws.client("kafkaconnect").create_custom_plugin(
        name=unique("s3-sink"),
        contentType="ZIP",
        location={"s3Location": {"bucketArn": f"arn:aws:s3:::{bucket}", "fileKey": "s3-sink.zip"}},
    )
    return str(created["customPluginArn"])


class Connectors:
    """Creates connectors through the API; deletes those still there at the end."""

    def __init__(self, cloud: BareCloud, plugin_arn: str) -> None:
        self.cloud, self.plugin_arn = cloud, plugin_arn
        self.api = cloud.aws.client("kafkaconnect")
        self.arns: list[str] = []

    def create(self, name: str, settings: dict[str, str], **extra: Any) -> str:
        arn = self.api.create_connector(
            connectorName=name,
            connectorConfiguration=settings,
            capacity={"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
            kafkaCluster={
                "apacheKafkaCluster": {
                    "bootstrapServers": self.cloud.kafka.bootstrap,
                    "vpc": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]},
                }
            },
            kafkaClusterClientAuthentication={"authenticationType": "NONE"},
            kafkaClusterEncryptionInTransit={"encryptionType": "PLAINTEXT"},
            kafkaConnectVersion="2.7.1",
            plugins=[{"customPlugin": {"customPluginArn": self.plugin_arn, "revision": 1}}],
            serviceExecutionRoleArn="arn:aws:iam::123456789012:role/connector",
            **extra,
        )["connectorArn"]
        self.arns.append(arn)
        return str(arn)

    def sink(
        self, topic: str, bucket: str, worker: dict[str, str] | None = None, **settings: str
    ) -> str:
        """An S3 sink connector archiving `topic` into `bucket`, with a worker configuration
        of `worker`'s properties if given; returns its name."""
        name = unique("archive")
        extra = {"workerConfiguration": self.worker(worker)} if worker else {}
        settings = {**S3_SINK, "topics": topic, "s3.bucket.name": bucket, **settings}
        self.create(name, settings, **extra)
        return name

    def worker(self, properties: dict[str, str]) -> dict[str, Any]:
        """A new worker configuration of `properties`, as a connector refers to it."""
        text = "".join(f"{key}={value}\n" for key, value in properties.items())
        created = self.api.create_worker_configuration(
            name=unique("worker"), propertiesFileContent=base64.b64encode(text.encode()).decode()
        )
        return {"workerConfigurationArn": created["workerConfigurationArn"], "revision": 1}

    def delete_all(self) -> None:
        for arn in self.arns:
            try:
                self.api.delete_connector(connectorArn=arn)
            except ClientError as error:
                assert error.response["Error"]["Code"] == "NotFoundException"


@pytest.fixture
def connectors(bare_cloud: BareCloud, plugin: str) -> Iterator[Connectors]:
    made = Connectors(bare_cloud, plugin)
    yield made
    made.delete_all()


@pytest.fixture
def engine(bare_cloud: BareCloud) -> Iterator[MskConnectEngine]:
    running = MskConnectEngine(bare_cloud.aws, poll_s=0.1)
    running.start()
    yield running
    running.stop()
    assert running.running() == {}
    assert not [t for t in threading.enumerate() if t.name.startswith("s3-sink-")]


@pytest.fixture
def bucket(bare_cloud: BareCloud) -> str:
    name = unique("mskc-archive")
    bare_cloud.aws.client("s3").create_bucket(Bucket=name)
    return name


def topic(cloud: BareCloud, partitions: int = 1) -> str:
    name = unique("orders")
    cloud.kafka.create_topic(name, partitions)
    return name


def produce(cloud: BareCloud, topic: str, values: list[bytes | None], partition: int = 0) -> None:
    producer = Producer({"bootstrap.servers": cloud.kafka.bootstrap, "acks": "all"})
    for value in values:
        producer.produce(topic, value=value, partition=partition)
    assert producer.flush(10) == 0


def objects(cloud: BareCloud, bucket: str) -> dict[str, bytes]:
    s3 = cloud.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="topics/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def wait_for_objects(cloud: BareCloud, bucket: str, count: int) -> dict[str, bytes]:
    wait_for(
        lambda: len(objects(cloud, bucket)) >= count,
        f"{count} objects in {bucket}",
        timeout_s=WAIT_S,
    )
    return objects(cloud, bucket)


def committed(cloud: BareCloud, group: str, topic: str, partitions: int) -> list[int]:
    consumer = Consumer({"bootstrap.servers": cloud.kafka.bootstrap, "group.id": group})
    try:
        asked = [TopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(asked, timeout=10)]
    finally:
        consumer.close()


def test_the_kafkaconnect_api_keeps_plugins_worker_configurations_and_connectors(
    bare_cloud: BareCloud, connectors: Connectors, plugin: str
) -> None:
    api = connectors.api
    described = api.describe_custom_plugin(customPluginArn=plugin)
    assert described["customPluginState"] == "ACTIVE"
    assert described["latestRevision"]["fileDescription"] == {
        "fileMd5": "a24bcf2198b1b13ad985304483f7f324",  # md5 of b"plugin"
        "fileSize": 6,
    }
    missing = api.create_custom_plugin(
        name=unique("missing"),
        contentType="JAR",
        location={"s3Location": {"bucketArn": "arn:aws:s3:::nowhere", "fileKey": "x.jar"}},
    )["customPluginArn"]
    failed = api.describe_custom_plugin(customPluginArn=missing)
    assert failed["customPluginState"] == "CREATE_FAILED"
    assert failed["stateDescription"]["message"] == (
        "The plugin file s3://nowhere/x.jar does not exist."
    )
    api.delete_custom_plugin(customPluginArn=missing)

    worker = api.create_worker_configuration(
        name=unique("worker"), propertiesFileContent="a2V5LmNvbnZlcnRlcj1h"
    )
    worker_arn = worker["workerConfigurationArn"]
    assert "propertiesFileContent" not in worker["latestRevision"]
    got = api.describe_worker_configuration(workerConfigurationArn=worker_arn)
    assert got["latestRevision"]["propertiesFileContent"] == "a2V5LmNvbnZlcnRlcj1h"

    prefix = unique("api")
    settings = {"connector.class": "x.Y", "topics": "t"}
    reference = {"workerConfigurationArn": worker_arn, "revision": 1}
    first = connectors.create(
        f"{prefix}-1", settings, workerConfiguration=reference, tags={"team": "a"}
    )
    connectors.create(f"{prefix}-2", settings)
    connector = api.describe_connector(connectorArn=first)
    assert connector["connectorState"] == "RUNNING"
    assert connector["connectorConfiguration"] == settings
    assert connector["workerConfiguration"] == reference
    assert connector["kafkaCluster"]["apacheKafkaCluster"]["vpc"]["subnets"] == ["subnet-1"]
    with pytest.raises(ClientError) as conflict:
        connectors.create(f"{prefix}-1", settings)
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    page = api.list_connectors(connectorNamePrefix=prefix, maxResults=1)
    rest = api.list_connectors(connectorNamePrefix=prefix, nextToken=page["nextToken"])
    listed = [c["connectorName"] for c in page["connectors"] + rest["connectors"]]
    assert listed == [f"{prefix}-1", f"{prefix}-2"]
    assert "nextToken" not in rest
    assert "connectorConfiguration" not in page["connectors"][0]

    api.tag_resource(resourceArn=first, tags={"env": "test"})
    api.untag_resource(resourceArn=first, tagKeys=["team"])
    assert api.list_tags_for_resource(resourceArn=first)["tags"] == {"env": "test"}

    version = connector["currentVersion"]
    capacity = {"provisionedCapacity": {"mcuCount": 2, "workerCount": 1}}
    updated = api.update_connector(connectorArn=first, currentVersion=version, capacity=capacity)
    assert updated["connectorState"] == "UPDATING"
    after = api.describe_connector(connectorArn=first)
    assert after["capacity"] == capacity
    assert after["currentVersion"] != version
    with pytest.raises(ClientError) as stale:
        api.update_connector(connectorArn=first, currentVersion=version, capacity=capacity)
    assert stale.value.response["Error"]["Code"] == "BadRequestException"

    assert api.delete_connector(connectorArn=first)["connectorState"] == "DELETING"
    with pytest.raises(ClientError) as gone:
        api.describe_connector(connectorArn=first)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    api.delete_worker_configuration(workerConfigurationArn=worker_arn)
    with pytest.raises(ClientError) as worker_gone:
        api.describe_worker_configuration(workerConfigurationArn=worker_arn)
    assert worker_gone.value.response["Error"]["Code"] == "NotFoundException"


def test_flush_size_one_writes_one_object_per_record(
    bare_cloud: BareCloud, connectors: Connectors, engine: MskConnectEngine, bucket: str
) -> None:
    orders = topic(bare_cloud)
    produce(bare_cloud, orders, [b'{"id": 1, "total": 19.9}', b'{"id": 2, "tags": ["a"]}'])
    json_sink = connectors.sink(orders, bucket, QUICK_COMMITS)
    # No value.converter: MSK Connect's default worker configuration's StringConverter.
    strings = {k: v for k, v in S3_SINK.items() if not k.startswith("value.converter")}
    text_bucket = unique("mskc-text")
    bare_cloud.aws.client("s3").create_bucket(Bucket=text_bucket)
    connectors.create(unique("text"), {**strings, "topics": orders, "s3.bucket.name": text_bucket})

    prefix = f"topics/{orders}/partition=0/{orders}+0+"
    assert wait_for_objects(bare_cloud, bucket, 2) == {
        f"{prefix}0000000000.json": b'{"total":19.9,"id":1}\n',
        f"{prefix}0000000001.json": b'{"id":2,"tags":["a"]}\n',
    }
    assert wait_for_objects(bare_cloud, text_bucket, 2) == {
        f"{prefix}0000000000.json": b'"{\\"id\\": 1, \\"total\\": 19.9}"\n',
        f"{prefix}0000000001.json": b'"{\\"id\\": 2, \\"tags\\": [\\"a\\"]}"\n',
    }
    wait_for(
        lambda: committed(bare_cloud, f"connect-{json_sink}", orders, 1) == [2],
        "both offsets committed",
        timeout_s=WAIT_S,
    )


def test_flush_size_three_cuts_objects_per_partition_and_commits_after_writing(
    bare_cloud: BareCloud, connectors: Connectors, engine: MskConnectEngine, bucket: str
) -> None:
    orders = topic(bare_cloud, partitions=2)
    produce(bare_cloud, orders, [f'{{"n": {n}}}'.encode() for n in range(7)], partition=0)
    produce(bare_cloud, orders, [f'{{"n": {n}}}'.encode() for n in range(10, 14)], partition=1)
    name = connectors.sink(
        orders, bucket, QUICK_COMMITS, **{"flush.size": "3", "topics.dir": "raw"}
    )

    def listing() -> dict[str, bytes]:
        s3 = bare_cloud.aws.client("s3")
        found = s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in found}

    wait_for(lambda: len(listing()) == 3, "three objects", timeout_s=WAIT_S)
    assert listing() == {
        f"raw/{orders}/partition=0/{orders}+0+0000000000.json": b'{"n":0}\n{"n":1}\n{"n":2}\n',
        f"raw/{orders}/partition=0/{orders}+0+0000000003.json": b'{"n":3}\n{"n":4}\n{"n":5}\n',
        f"raw/{orders}/partition=1/{orders}+1+0000000000.json": b'{"n":10}\n{"n":11}\n{"n":12}\n',
    }
    # The records after the last full object are not committed: they are read again later.
    wait_for(
        lambda: committed(bare_cloud, f"connect-{name}", orders, 2) == [6, 3],
        "the offsets after the objects committed",
        timeout_s=WAIT_S,
    )
    time.sleep(0.3)  # three more commit intervals: nothing past the objects is committed
    assert committed(bare_cloud, f"connect-{name}", orders, 2) == [6, 3]


def test_offsets_are_committed_every_flush_interval_and_when_the_sink_stops(
    bare_cloud: BareCloud, connectors: Connectors, bucket: str
) -> None:
    orders = topic(bare_cloud)
    name = connectors.sink(orders, bucket)  # the default interval: 60 s
    running = MskConnectEngine(bare_cloud.aws, poll_s=0.1)
    running.start()
    try:
        produce(bare_cloud, orders, [b'{"n": 0}', b'{"n": 1}'])
        wait_for_objects(bare_cloud, bucket, 2)
        time.sleep(1.0)
        # written, not committed yet: Kafka Connect's worker commits on its interval
        assert committed(bare_cloud, f"connect-{name}", orders, 1) == [OFFSET_INVALID]
    finally:
        running.stop()
    assert committed(bare_cloud, f"connect-{name}", orders, 1) == [2]


@pytest.mark.serial
def test_scheduled_rotation_writes_partial_objects_without_new_records(
    bare_cloud: BareCloud, connectors: Connectors, engine: MskConnectEngine, bucket: str
) -> None:
    orders = topic(bare_cloud)
    schedule = {"flush.size": "1000", "rotate.schedule.interval.ms": "1000", "timezone": "UTC"}
    connectors.sink(orders, bucket, **schedule)
    wait_for(lambda: engine.running(), "the sink to start", timeout_s=WAIT_S)
    produced = time.monotonic()
    produce(bare_cloud, orders, [b'{"n": 1}', b'{"n": 2}'])
    wait_for(lambda: _all_lines(bare_cloud, bucket) == 2, "both records in S3", timeout_s=WAIT_S)
    # The records sit in an open object until the next whole second (UTC), then wait at most
    # one more poll and the group join: loosely, well under three intervals.
    assert time.monotonic() - produced < 3.0
    keys = sorted(objects(bare_cloud, bucket))
    starts = [int(k.rsplit("+", 1)[1].removesuffix(".json")) for k in keys]
    assert starts in ([0], [0, 1])  # a second boundary may fall between the two records
    assert b"".join(objects(bare_cloud, bucket)[k] for k in keys) == b'{"n":1}\n{"n":2}\n'


def _all_lines(cloud: BareCloud, bucket: str) -> int:
    return sum(body.count(b"\n") for body in objects(cloud, bucket).values())


def test_a_restarted_engine_resumes_from_the_committed_offsets(
    bare_cloud: BareCloud, connectors: Connectors, bucket: str
) -> None:
    orders = topic(bare_cloud)
    connectors.sink(orders, bucket)
    first = MskConnectEngine(bare_cloud.aws, poll_s=0.1)
    first.start()
    try:
        produce(bare_cloud, orders, [b'{"n": 0}', b'{"n": 1}'])
        wait_for_objects(bare_cloud, bucket, 2)
    finally:
        first.stop()
    written = _versions(bare_cloud, bucket)
    produce(bare_cloud, orders, [b'{"n": 2}', b'{"n": 3}'])
    time.sleep(1.1)  # S3 keeps whole seconds: a rewrite would show a later LastModified

    second = MskConnectEngine(bare_cloud.aws, poll_s=0.1)
    second.start()
    try:
        found = wait_for_objects(bare_cloud, bucket, 4)
    finally:
        second.stop()
    prefix = f"topics/{orders}/partition=0/{orders}+0+"
    assert found == {f"{prefix}{n:010d}.json": f'{{"n":{n}}}\n'.encode() for n in range(4)}
    again = _versions(bare_cloud, bucket)
    assert {k: again[k] for k in written} == written  # the first two were not written again


def _versions(cloud: BareCloud, bucket: str) -> dict[str, tuple[object, str]]:
    listed = cloud.aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    return {o["Key"]: (o["LastModified"], o["ETag"]) for o in listed}


def test_refused_failed_updated_and_deleted_connectors(
    bare_cloud: BareCloud, connectors: Connectors, engine: MskConnectEngine, bucket: str
) -> None:
    orders = topic(bare_cloud)
    debezium = unique("debezium")
    connectors.create(debezium, {"connector.class": "io.debezium.connector.mysql.MySqlConnector"})
    strict = connectors.sink(orders, bucket)
    lenient_bucket = unique("mskc-lenient")
    bare_cloud.aws.client("s3").create_bucket(Bucket=lenient_bucket)
    lenient = connectors.sink(orders, lenient_bucket, **{"behavior.on.null.values": "ignore"})
    produce(bare_cloud, orders, [None, b'{"n": 1}'])

    failing = f"MSK Connect {strict}"
    wait_for(lambda: failing in engine.failures(), "the strict sink to fail", timeout_s=WAIT_S)
    assert engine.failures() == {
        f"MSK Connect {debezium}": f"connector {debezium}: only "
        "io.confluent.connect.s3.S3SinkConnector runs locally, not "
        "'io.debezium.connector.mysql.MySqlConnector'",
        failing: f"connector {strict}: null value at {orders}/0/0 with "
        "behavior.on.null.values=fail (set it to ignore to skip tombstones)",
    }
    assert wait_for_objects(bare_cloud, lenient_bucket, 1) == {
        f"topics/{orders}/partition=0/{orders}+0+0000000001.json": b'{"n":1}\n'
    }
    assert objects(bare_cloud, bucket) == {}
    assert set(engine.running()) == {lenient}

    # An update restarts the connector with its new configuration, from the committed offset.
    arn = next(a for a in connectors.arns if lenient in a)
    version = connectors.api.describe_connector(connectorArn=arn)["currentVersion"]
    settings = {
        **S3_SINK,
        "topics": orders,
        "s3.bucket.name": lenient_bucket,
        "behavior.on.null.values": "ignore",
        "topics.dir": "v2",
    }
    updated = connectors.api.update_connector(
        connectorArn=arn, currentVersion=version, connectorConfiguration=settings
    )
    new_version = connectors.api.describe_connector(connectorArn=arn)["currentVersion"]
    assert new_version != version and updated["connectorState"] == "UPDATING"
    wait_for(
        lambda: engine.running().get(lenient) == new_version,
        "the sink to restart with the new configuration",
        timeout_s=WAIT_S,
    )
    produce(bare_cloud, orders, [b'{"n": 2}'])
    s3 = bare_cloud.aws.client("s3")
    v2 = f"v2/{orders}/partition=0/{orders}+0+0000000002.json"
    wait_for(
        lambda: s3.list_objects_v2(Bucket=lenient_bucket, Prefix="v2/").get("Contents"),
        v2,
        timeout_s=WAIT_S,
    )
    assert s3.get_object(Bucket=lenient_bucket, Key=v2)["Body"].read() == b'{"n":2}\n'
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=lenient_bucket)["Contents"]] == [
        f"topics/{orders}/partition=0/{orders}+0+0000000001.json",
        v2,
    ]

    connectors.api.delete_connector(connectorArn=arn)
    wait_for(
        lambda: engine.running() == {}, "the deleted connector's sink to stop", timeout_s=WAIT_S
    )
    assert not [t for t in threading.enumerate() if t.name == f"s3-sink-{lenient}"]


def test_a_terraform_applied_connector_archives_its_topic(
    bare_cloud: BareCloud, engine: MskConnectEngine, tmp_path: Path
) -> None:
    name = unique("tf-mskc")
    orders = topic(bare_cloud)
    module = tmp_path / "mskconnect"
    shutil.copytree(FIXTURE, module)
    plugin = placeholder_plugin("confluentinc-kafka-connect-s3", tmp_path / "plugins")
    variables = {"name": name, "topic": orders, "plugin_package": str(plugin)}
    (module / "terraform.tfvars.json").write_text(json.dumps(variables))
    env = {**terraform_env(tmp_path), **bare_cloud.aws.env()}

    def succeed(*args: str) -> str:
        done = terraform_cli(module, env, *args)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    succeed("init")
    try:
        succeed("apply", "-auto-approve")
        outputs = json.loads(succeed("output", "-json"))
        # Read back without drift: a plan after the apply changes nothing.
        succeed("plan", "-out=drift.plan")
        planned = json.loads(succeed("show", "-json", "drift.plan"))["resource_changes"]
        changed = {c["address"] for c in planned if c["change"]["actions"] != ["no-op"]}
        assert changed == set()
        api = bare_cloud.aws.client("kafkaconnect")
        connector = api.describe_connector(connectorArn=outputs["connector_arn"]["value"])
        assert connector["connectorState"] == "RUNNING"
        brokers = connector["kafkaCluster"]["apacheKafkaCluster"]["bootstrapServers"]
        assert sorted(brokers.split(",")) == sorted(bare_cloud.kafka.bootstrap.split(","))

        produce(bare_cloud, orders, [b'{"sales_order_id": 7, "subtotal": 12.5}'])
        bucket = outputs["bucket"]["value"]
        assert wait_for_objects(bare_cloud, bucket, 1) == {
            f"topics/{orders}/partition=0/{orders}+0+0000000000.json": (
                b'{"subtotal":12.5,"sales_order_id":7}\n'
            )
        }
        assert set(engine.running()) == {name}
    finally:  # force_destroy empties the bucket of the sink's objects ('+' in every key)
        succeed("destroy", "-auto-approve")
    assert api.list_connectors(connectorNamePrefix=name)["connectors"] == []
    assert api.list_custom_plugins(namePrefix=name)["customPlugins"] == []
    assert api.list_worker_configurations(namePrefix=name)["workerConfigurations"] == []
    wait_for(
        lambda: engine.running() == {},
        "the destroyed connector's sink to stop",
        timeout_s=WAIT_S,
    )


def test_a_sink_rides_out_brokers_down_past_its_session_timeout(
    bare_cloud: BareCloud, connectors: Connectors, engine: MskConnectEngine, bucket: str
) -> None:
    """Every broker down for longer than the consumer's session (the `kafka_down` fault):
    the group's coordinator is gone, so the sink's partitions are revoked and their commit
    cannot be made. The sink neither waits for it nor fails: once the brokers are back it
    rejoins and writes what comes next."""
    orders = topic(bare_cloud)
    produce(bare_cloud, orders, [b'{"id": 1}'])
    connectors.sink(orders, bucket, QUICK_COMMITS)
    wait_for_objects(bare_cloud, bucket, 1)
    bare_cloud.kafka.set_brokers(up=False)
    try:
        time.sleep(5)  # past session.timeout.ms (3 s): the assignment is revoked
    finally:
        bare_cloud.kafka.set_brokers(up=True)
    produce(bare_cloud, orders, [b'{"id": 2}'])
    written = wait_for_objects(bare_cloud, bucket, 2)
    assert b'{"id":2}\n' in written.values()
    assert engine.failures() == {}
