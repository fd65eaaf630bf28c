"""MSK: clusters become ACTIVE, an unknown cluster is NotFound, and a cluster is described
without the placeholder settings moto fills in."""

from typing import Any

from harness.local.moto_fixes.guard import fix

_DESCRIBE = ("describe_cluster", "describe_cluster_v2")


@fix("moto.kafka.models.FakeKafkaCluster.__init__", "moto.kafka.models.FakeKafkaCluster().state")
def clusters_active() -> None:
    # moto leaves clusters CREATING for ever and Terraform waits for ACTIVE; the brokers
    # behind every cluster are the local target's Kafka broker, already up.
    from moto.kafka import models

    cluster_init = models.FakeKafkaCluster.__init__

    def init_active(self: Any, *args: Any, **kwargs: Any) -> None:
        cluster_init(self, *args, **kwargs)
        self.state = "ACTIVE"

    models.FakeKafkaCluster.__init__ = init_active


@fix(
    *(f"moto.kafka.models.KafkaBackend.{name}" for name in (*_DESCRIBE, "delete_cluster")),
    "moto.kafka.models.KafkaBackend().clusters",
    "moto.kafka.exceptions.NotFoundException",
)
def unknown_cluster_not_found() -> None:
    # moto answers an unknown cluster ARN with a KeyError (HTTP 500); AWS says NotFound.
    from moto.kafka.exceptions import NotFoundException
    from moto.kafka.models import KafkaBackend

    def found_or_404(method: Any) -> Any:
        def wrapper(self: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
            if cluster_arn not in self.clusters:
                raise NotFoundException(f"Cluster {cluster_arn} not found")
            return method(self, cluster_arn, *args, **kwargs)

        return wrapper

    for name in (*_DESCRIBE, "delete_cluster"):
        setattr(KafkaBackend, name, found_or_404(getattr(KafkaBackend, name)))


@fix(*(f"moto.kafka.models.KafkaBackend.{name}" for name in _DESCRIBE))
def no_placeholder_settings() -> None:
    # moto describes a cluster created without a configuration as using configuration ARN
    # "string", and one without client authentication as having an empty block; AWS omits
    # both. The provider reads them back as settings and plans an update after every apply.
    from moto.kafka.models import KafkaBackend

    def without_placeholders(method: Any) -> Any:
        def wrapper(self: Any, cluster_arn: str) -> dict[str, Any]:
            described: dict[str, Any] = method(self, cluster_arn)
            for info in (described, described.get("provisioned", {})):
                software = info.get("currentBrokerSoftwareInfo", {})
                if software.get("configurationArn") == "string":
                    software.pop("configurationArn")
                    software.pop("configurationRevision", None)
                if info.get("clientAuthentication") == {}:
                    info.pop("clientAuthentication")
            return described

        return wrapper

    for name in _DESCRIBE:
        setattr(KafkaBackend, name, without_placeholders(getattr(KafkaBackend, name)))
