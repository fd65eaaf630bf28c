"""MSK: clusters become ACTIVE, bootstrap brokers point at the local Kafka broker, and Lambda
accepts event-source mappings from MSK clusters and self-managed Kafka."""

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
    for name in ("describe_cluster", "describe_cluster_v2"):
        setattr(backend, name, _without_placeholders(getattr(backend, name)))

    def get_bootstrap_brokers(self: Any) -> str:
        # Not in moto at all; every listener name points at the one local broker.
        arn = unquote(self.parsed_url.path.split("/clusters/")[-1].split("/bootstrap-brokers")[0])
        self.kafka_backend.describe_cluster(arn)  # NotFound for an unknown cluster
        names = ("", "Tls", "SaslScram", "SaslIam", "PublicTls", "PublicSaslScram")
        return json.dumps({f"bootstrapBrokerString{n}": bootstrap for n in names})

    responses.KafkaResponse.get_bootstrap_brokers = get_bootstrap_brokers
    _accept_kafka_mappings()


def _without_placeholders(method: Any) -> Any:
    # moto describes a cluster created without a configuration as using configuration ARN
    # "string", and one without client authentication as having an empty block; AWS omits
    # both. The provider reads them back as settings and plans an update after every apply.
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


def _found_or_404(method: Any, not_found: Any) -> Any:
    # moto answers an unknown cluster ARN with a KeyError (HTTP 500); AWS says NotFound.
    def wrapper(self: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
        if cluster_arn not in self.clusters:
            raise not_found(f"Cluster {cluster_arn} not found")
        return method(self, cluster_arn, *args, **kwargs)

    return wrapper


def _accept_kafka_mappings() -> None:
    # moto's Lambda rejects mappings from an MSK cluster ARN ("Unsupported event source type")
    # and from SelfManagedEventSource (no EventSourceArn). AWS accepts both, with Topics (one)
    # and StartingPosition required, BatchSize 100 by default (at most 10000), and the mapping
    # UUID as consumer group when no ConsumerGroupId is given.
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import EventSourceMapping, LambdaBackend
    from moto.core.exceptions import JsonRESTError
    from moto.kafka.models import kafka_backends

    class KafkaMapping(EventSourceMapping):
        @property
        def event_source_arn(self) -> Any:
            return self._event_source_arn

        @event_source_arn.setter
        def event_source_arn(self, arn: str | None) -> None:
            self._event_source_arn = arn

        def _get_service_source_from_arn(self, event_source_arn: str | None = None) -> str:
            return "kafka"

        @property
        def batch_size(self) -> int:
            return self._batch_size

        @batch_size.setter
        def batch_size(self, size: int | None) -> None:
            if size is not None and not 1 <= int(size) <= 10000:
                raise InvalidParameterValueException(
                    f"BatchSize {size} is out of range: a Kafka mapping takes 1 to 10000"
                )
            self._batch_size = 100 if size is None else int(size)

    create = LambdaBackend.create_event_source_mapping

    def create_mapping(self: Any, spec: dict[str, Any]) -> Any:
        arn = spec.get("EventSourceArn") or ""
        if not arn.startswith("arn:aws:kafka:") and not spec.get("SelfManagedEventSource"):
            return create(self, spec)
        _check_kafka_mapping(spec, InvalidParameterValueException)
        if arn and arn not in kafka_backends[self.account_id][self.region_name].clusters:
            raise JsonRESTError("ResourceNotFoundException", f"MSK cluster {arn} not found")
        function = self._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
        mapping = KafkaMapping(
            {
                **spec,
                "EventSourceArn": arn or None,
                "RegionName": self.region_name,
                "AccountId": self.account_id,
                "FunctionArn": function.function_arn,
            }
        )
        group = {"ConsumerGroupId": mapping.uuid}
        if arn:
            mapping.kafka_config = mapping.kafka_config or group
        else:
            config = mapping.self_managed_kafka_event_source_config
            mapping.self_managed_kafka_event_source_config = config or group
        self._event_source_mappings[mapping.uuid] = mapping
        return mapping

    LambdaBackend.create_event_source_mapping = create_mapping


def _check_kafka_mapping(spec: dict[str, Any], invalid: Any) -> None:
    """What AWS requires of a Kafka mapping beyond what every mapping needs."""
    if not spec.get("FunctionName"):
        raise invalid("Missing FunctionName")
    topics = spec.get("Topics") or []
    if len(topics) != 1:
        raise invalid("A Kafka mapping needs Topics with exactly one topic name")
    position = spec.get("StartingPosition")
    if position not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
        raise invalid("A Kafka mapping needs StartingPosition TRIM_HORIZON, LATEST or AT_TIMESTAMP")
    if position == "AT_TIMESTAMP" and spec.get("StartingPositionTimestamp") is None:
        raise invalid("StartingPosition AT_TIMESTAMP needs StartingPositionTimestamp")
    source = spec.get("SelfManagedEventSource")
    if source and not (source.get("Endpoints") or {}).get("KAFKA_BOOTSTRAP_SERVERS"):
        raise invalid("SelfManagedEventSource needs Endpoints.KAFKA_BOOTSTRAP_SERVERS")
