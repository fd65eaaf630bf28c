"""MSK: GetBootstrapBrokers, answered with the local target's Kafka broker."""

import json
from typing import Any
from urllib.parse import unquote

from harness.local.moto_fixes.guard import fix


@fix(
    "moto.kafka.responses.KafkaResponse",
    "moto.kafka.responses.KafkaResponse().parsed_url",
    "moto.kafka.responses.KafkaResponse.kafka_backend",
    "moto.kafka.models.KafkaBackend.describe_cluster",
)
def bootstrap_brokers(bootstrap: str) -> None:
    # Not in moto at all; every listener name points at the one local broker (`bootstrap`),
    # which is behind every cluster.
    from moto.kafka.responses import KafkaResponse

    def get_bootstrap_brokers(self: Any) -> str:
        arn = unquote(self.parsed_url.path.split("/clusters/")[-1].split("/bootstrap-brokers")[0])
        self.kafka_backend.describe_cluster(arn)  # NotFound for an unknown cluster
        names = ("", "Tls", "SaslScram", "SaslIam", "PublicTls", "PublicSaslScram")
        return json.dumps({f"bootstrapBrokerString{n}": bootstrap for n in names})

    KafkaResponse.get_bootstrap_brokers = get_bootstrap_brokers
