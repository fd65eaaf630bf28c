"""Lambda: event-source mappings from MSK and self-managed Kafka, and the private routes of
the local Lambda runtime (client side: `harness.local.lambda_runtime.lambda_api`):
- GET  /cdcbench/lambda/functions/<name>/code: the deployment package, base64;
- POST /cdcbench/lambda/event-source-mappings/<uuid>: the mapping's State,
  StateTransitionReason and LastProcessingResult, as the runtime sees them.
The invocation routes are the data plane's (`data_plane.awslambda`).
"""

import base64
import json
from typing import Any

from harness.local.moto_fixes.guard import fix
from harness.local.moto_fixes.routes import (
    Response,
    error_answer,
    json_answer,
    path_part,
    response_for,
)

_MAPPING_FIELDS = ("State", "StateTransitionReason", "LastProcessingResult")


@fix(
    "moto.awslambda.urls.url_paths",
    "moto.awslambda.responses.LambdaResponse.setup_class",
    "moto.awslambda.models.LambdaBackend.get_function",
    "moto.awslambda.models.LambdaBackend.get_event_source_mapping",
    "moto.awslambda.models.LambdaBackend.update_event_source_mapping",
    "moto.awslambda.models.LambdaFunction().code_bytes",
    "moto.awslambda.models.LambdaFunction().code_sha_256",
    "moto.awslambda.models.EventSourceMapping.get_configuration",
    "moto.awslambda.exceptions.UnknownFunctionException",
)
def private_routes() -> None:
    # moto hard-codes a mapping's LastProcessingResult (None) and StateTransitionReason
    # ("User initiated"): the runtime reports what it sees, as AWS's pollers do. GetFunction's
    # Code.Location is not fetchable from moto, so the runtime reads the code here.
    from moto.awslambda import models, urls

    moto_configuration = models.EventSourceMapping.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = moto_configuration(self)
        out.update(getattr(self, "cdcbench_state", {}))
        return out

    moto_update = models.LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        # Enabling or disabling is the user's move: the state reported before it is stale.
        mapping = moto_update(self, uuid, spec)
        if mapping is not None and "Enabled" in spec:
            state = getattr(mapping, "cdcbench_state", {})
            state.pop("State", None)
            state.pop("StateTransitionReason", None)
        return mapping

    models.EventSourceMapping.get_configuration = get_configuration
    models.LambdaBackend.update_event_source_mapping = update_event_source_mapping
    urls.url_paths.update(
        {
            r"{0}/cdcbench/lambda/functions/(?P<name>[^/]+)/code$": _function_code,
            r"{0}/cdcbench/lambda/event-source-mappings/(?P<uuid>[^/]+)$": _mapping_state,
        }
    )


def _backend(request: Any, full_url: str, headers: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    return response_for(LambdaResponse, request, full_url, headers).backend


def _function_code(request: Any, full_url: str, headers: Any) -> Response:
    """The zip moto keeps (copied from S3 too)."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        fn = _backend(request, full_url, headers).get_function(path_part(full_url, -2))
    except UnknownFunctionException as exc:
        return error_answer(404, "ResourceNotFoundException", exc.message)
    return json_answer(
        {"ZipFile": base64.b64encode(fn.code_bytes).decode(), "CodeSha256": fn.code_sha_256}
    )


def _mapping_state(request: Any, full_url: str, headers: Any) -> Response:
    uuid_ = path_part(full_url, -1)
    mapping = _backend(request, full_url, headers).get_event_source_mapping(uuid_)
    if mapping is None:
        message = f"Event source mapping {uuid_} not found"
        return error_answer(404, "ResourceNotFoundException", message)
    fields = json.loads(request.data or b"{}")
    unknown = sorted(set(fields) - set(_MAPPING_FIELDS))
    if unknown:
        return error_answer(400, "InvalidParameterValueException", f"cannot report {unknown}")
    if not hasattr(mapping, "cdcbench_state"):
        mapping.cdcbench_state = {}
    mapping.cdcbench_state.update(fields)
    return json_answer(mapping.get_configuration())


@fix(
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping",
    "moto.awslambda.models.LambdaBackend()._event_source_mappings",
    "moto.awslambda.models.LambdaBackend()._lambdas",
    "moto.awslambda.models.EventSourceMapping._get_service_source_from_arn",
    "moto.awslambda.models.EventSourceMapping().event_source_arn",
    "moto.awslambda.models.EventSourceMapping().batch_size",
    "moto.awslambda.models.EventSourceMapping().kafka_config",
    "moto.awslambda.models.EventSourceMapping().self_managed_kafka_event_source_config",
    "moto.awslambda.exceptions.InvalidParameterValueException",
    "moto.core.exceptions.JsonRESTError",
    "moto.kafka.models.kafka_backends",
)
def kafka_event_sources() -> None:
    # moto's Lambda has no Kafka event sources: it rejects mappings from an MSK cluster ARN
    # ("Unsupported event source type") and from SelfManagedEventSource (no EventSourceArn).
    # AWS accepts both, with Topics (one) and StartingPosition required, BatchSize 100 by
    # default (at most 10000), and the mapping UUID as consumer group when no ConsumerGroupId
    # is given.
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
