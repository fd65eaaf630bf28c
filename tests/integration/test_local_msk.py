"""MSK clusters on the local target: ACTIVE at once, and their bootstrap brokers are the
local Kafka broker, usable with any Kafka client; the `kafka_down` fault takes the brokers
down and back."""

import uuid

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer

from harness.nemesis import KINDS
from harness.targets import Target
from tests.helpers import create_msk_cluster

pytestmark = pytest.mark.slow


def test_an_msk_cluster_is_active_and_its_brokers_take_messages(local_target: Target) -> None:
    kafka = local_target.aws.client("kafka")
    arn = create_msk_cluster(local_target.aws.client("kafka"), "events")
    assert kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "ACTIVE"
    brokers = kafka.get_bootstrap_brokers(ClusterArn=arn)
    bootstrap = brokers["BootstrapBrokerString"]
    assert bootstrap == local_target.describe()["kafka_bootstrap"]
    assert brokers["BootstrapBrokerStringSaslScram"] == bootstrap

    topic = f"msk-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(3):
        producer.produce(topic, key=b"k", value=f"m{i}".encode())
    assert producer.flush(10) == 0
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    for _ in range(50):
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
        if len(got) == 3:
            break
    consumer.close()
    assert got == [b"m0", b"m1", b"m2"]


def test_an_unknown_cluster_is_not_found(local_target: Target) -> None:
    kafka = local_target.aws.client("kafka")
    missing = "arn:aws:kafka:us-east-1:123456789012:cluster/none/0000"
    for call in (kafka.describe_cluster_v2, kafka.get_bootstrap_brokers):
        with pytest.raises(ClientError) as err:
            call(ClusterArn=missing)
        assert err.value.response["Error"]["Code"] == "NotFoundException"


def test_brokers_taken_down_serve_nothing_until_they_are_back(local_target: Target) -> None:
    """A message produced while every broker is down waits in the producer (it retries)
    and is delivered once they are up, as after a broker outage on MSK."""
    kafka = local_target.aws.client("kafka")
    arn = create_msk_cluster(kafka, "outage")
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    topic = f"down-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, value=b"before")
    assert producer.flush(10) == 0
    fault = KINDS["kafka_down"]
    assert fault.unavailable(local_target) is None
    fault.start(local_target, [arn])
    try:
        producer.produce(topic, value=b"during")
        assert producer.flush(2) == 1, "delivered while every broker is down"
    finally:
        fault.end(local_target, [arn], None)
    assert producer.flush(30) == 0, "not delivered once the brokers are back"
