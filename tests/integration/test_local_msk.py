"""MSK clusters on the local target: ACTIVE at once, and their bootstrap brokers are the
local Kafka broker, usable with any Kafka client; the `kafka_down` fault takes the brokers
down and back, and `kafka_rebalance` makes consumer groups rebalance while it lasts."""

import time
import uuid

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer

from harness.nemesis import KINDS
from harness.targets import Target
from tests.helpers import create_msk_cluster, wait_for

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
    fault.start(local_target, [arn], 10.0)
    try:
        producer.produce(topic, value=b"during")
        assert producer.flush(2) == 1, "delivered while every broker is down"
    finally:
        fault.end(local_target, [arn], None)
    assert producer.flush(30) == 0, "not delivered once the brokers are back"


def test_rebalances_revoke_a_group_member_s_partitions_until_they_stop(
    local_target: Target,
) -> None:
    """kafka_rebalance: while it lasts, the group's member is told to rejoin again and again
    (each time its partitions are revoked and assigned again); once it ends, it is not."""
    kafka = local_target.aws.client("kafka")
    arn = create_msk_cluster(kafka, "rebalance")
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    topic = f"groups-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value=b"one")  # the topic exists once produced to
    assert producer.flush(10) == 0
    revoked: list[float] = []
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": topic, "session.timeout.ms": 3000,
         "heartbeat.interval.ms": 1000, "auto.offset.reset": "earliest"}
    )  # fmt: skip
    consumer.subscribe([topic], on_revoke=lambda *_: revoked.append(time.monotonic()))
    fault = KINDS["kafka_rebalance"]
    assert fault.unavailable(local_target) is None
    try:
        wait_for(lambda: (consumer.poll(0.2), consumer.assignment())[1], "an assignment")
        fault.start(local_target, [arn], 10.0)
        started = time.monotonic()
        while time.monotonic() - started < 7:
            consumer.poll(0.2)
        fault.end(local_target, [arn], None)
        ended = time.monotonic()
        while time.monotonic() - ended < 8:
            consumer.poll(0.2)
        closing = time.monotonic()
    finally:
        consumer.close()  # revokes its partitions too
    during = [t for t in revoked if started <= t < ended]
    assert len(during) >= 2, revoked
    after = [t for t in revoked if ended + 3 < t < closing]  # a last rejoin may still finish
    assert not after, revoked
