"""MSK: clusters become ACTIVE, bootstrap brokers point at the local Kafka broker."""

import json
from typing import Any


def apply(bootstrap: str) -> None:
    from urllib.parse import unquote

    from moto.kafka import models, responses
    from moto.kafka.exceptions import NotFoundException

    cluster_init = models.FakeKafkaCluster.__init__

    def init_active(self: Any, *args: Any, **kwargs: Any) -> None:
        cluster_init(self, *args, **kwargs)
        # moto leaves clusters CREATING for ever and Terraform waits for ACTIVE; the
        # brokers behind every cluster are the local target's Kafka broker, already up.
        self.state = "ACTIVE"

    models.FakeKafkaCluster.__init__ = init_active
    backend = models.KafkaBackend
    for name in ("describe_cluster", "describe_cluster_v2", "delete_cluster"):
        setattr(backend, name, _found_or_404(getattr(backend, name), NotFoundException))

    def get_bootstrap_brokers(self: Any) -> str:
        # Not in moto at all; every listener name points at the one local broker.
        arn = unquote(self.parsed_url.path.split("/clusters/")[-1].split("/bootstrap-brokers")[0])
        self.kafka_backend.describe_cluster(arn)  # NotFound for an unknown cluster
        names = ("", "Tls", "SaslScram", "SaslIam", "PublicTls", "PublicSaslScram")
        return json.dumps({f"bootstrapBrokerString{n}": bootstrap for n in names})

    responses.KafkaResponse.get_bootstrap_brokers = get_bootstrap_brokers


def _found_or_404(method: Any, not_found: Any) -> Any:
    # moto answers an unknown cluster ARN with a KeyError (HTTP 500); AWS says NotFound.
    def wrapper(self: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
        if cluster_arn not in self.clusters:
            raise not_found(f"Cluster {cluster_arn} not found")
        return method(self, cluster_arn, *args, **kwargs)

    return wrapper
