"""MSK Connect (kafkaconnect): moto has no such service (every call is an HTTP 500), so this
module adds a minimal one: custom plugins, worker configurations, connectors and their tags.

How it is registered: moto's server reads the service name from a request's SigV4 credential
scope, makes the host `kafkaconnect.<region>.amazonaws.com` of it, takes the backend whose
pattern in `moto.backend_index.backend_url_patterns` matches that host, imports
`moto.<backend>` for its `<backend>_backends` and routes the request by that backend's URL paths.
`service()` appends the pattern and puts this module's backends in `sys.modules` as
`moto.kafkaconnect`. moto parses requests and serialises responses from botocore's kafkaconnect
service model (its automated parameter parsing), so every shape on the wire is the AWS API's.

Semantics kept: plugins are ACTIVE at once (CREATE_FAILED when their S3 object is missing),
worker configurations ACTIVE, connectors RUNNING at once; responses to create, update and
delete report the transitional state AWS reports (CREATING, UPDATING, DELETING), and a deleted
resource is gone at once (NotFoundException, which Terraform's destroy waits for). An update
needs the connector's current version and gives it a new one. The local MSK Connect engine
(`harness.local.mskconnect`) runs the connectors this API holds.
"""

import hashlib
import re
import string
import sys
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any
from uuid import uuid4

from moto import backend_index
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

from harness.local.moto_fixes.guard import BotocoreShape, fix

SERVICE = "kafkaconnect"
_URL_BASE = r"https?://kafkaconnect\.(.+)\.amazonaws\.com"
_DEFAULT_PAGE = 100

PLUGIN, WORKER_CONFIGURATION, CONNECTOR = "custom-plugin", "worker-configuration", "connector"
# Per kind: the member naming a resource, and the URI label carrying its ARN.
_NAME = {PLUGIN: "name", WORKER_CONFIGURATION: "name", CONNECTOR: "connectorName"}
_ARN_LABEL = {
    PLUGIN: "customPluginArn",
    WORKER_CONFIGURATION: "workerConfigurationArn",
    CONNECTOR: "connectorArn",
}
_STATE = {
    PLUGIN: "customPluginState",
    WORKER_CONFIGURATION: "workerConfigurationState",
    CONNECTOR: "connectorState",
}


class NotFoundException(ServiceException):
    code = "NotFoundException"


class ConflictException(ServiceException):
    code = "ConflictException"


class BadRequestException(ServiceException):
    code = "BadRequestException"


def _now() -> datetime:
    return datetime.now(UTC)


def _version() -> str:
    """An opaque connector version, shaped like the ones AWS hands out."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(mock_random.choice(alphabet) for _ in range(14))


def _without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


class KafkaConnectBackend(BaseBackend):
    """Resources by kind and ARN; each is the dict its Describe call answers with."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.resources: dict[str, dict[str, dict[str, Any]]] = {
            PLUGIN: {},
            WORKER_CONFIGURATION: {},
            CONNECTOR: {},
        }
        self.tags: dict[str, dict[str, str]] = {}

    @property
    def _url_module(self) -> Any:
        # moto derives a backend's URL module from its class's module (moto.<x>.urls).
        dispatch = KafkaConnectResponse.dispatch
        paths = {
            f"{{0}}/v1/{collection}{suffix}": dispatch
            for collection in ("custom-plugins", "worker-configurations", "connectors")
            for suffix in ("$", "/(?P<arn>.+)$")
        }
        paths["{0}/v1/tags/(?P<resourceArn>.+)$"] = dispatch
        return SimpleNamespace(url_bases=[_URL_BASE], url_paths=paths)

    def describe(self, kind: str, arn: str) -> dict[str, Any]:
        if arn not in self.resources[kind]:
            raise NotFoundException(f"The {kind} {arn} does not exist.")
        return self.resources[kind][arn]

    def listing(self, kind: str, prefix: str) -> list[dict[str, Any]]:
        return [r for r in self.resources[kind].values() if r[_NAME[kind]].startswith(prefix)]

    def delete(self, kind: str, arn: str) -> dict[str, Any]:
        resource = self.describe(kind, arn)
        del self.resources[kind][arn]
        del self.tags[arn]
        return resource

    def _add(self, kind: str, params: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        name = params[_NAME[kind]]
        if any(r[_NAME[kind]] == name for r in self.resources[kind].values()):
            raise ConflictException(f"A {kind} named {name} already exists.")
        scope = f"{get_partition(self.region_name)}:{SERVICE}:{self.region_name}:{self.account_id}"
        arn = f"arn:{scope}:{kind}/{name}/{uuid4()}"
        resource[_ARN_LABEL[kind]] = arn
        self.resources[kind][arn] = resource
        self.tags[arn] = dict(params.get("tags") or {})
        return resource

    def create_custom_plugin(self, params: dict[str, Any]) -> dict[str, Any]:
        created = _now()
        s3 = params["location"]["s3Location"]
        revision: dict[str, Any] = {
            "contentType": params["contentType"],
            "creationTime": created,
            "description": params.get("description"),
            "location": {"s3Location": dict(s3)},
            "revision": 1,
        }
        plugin: dict[str, Any] = {
            "creationTime": created,
            "customPluginState": "ACTIVE",
            "description": params.get("description"),
            "latestRevision": revision,
            "name": params["name"],
        }
        try:
            content = self._plugin_file(s3)
            md5 = hashlib.md5(content).hexdigest()
            revision["fileDescription"] = {"fileMd5": md5, "fileSize": len(content)}
        except LookupError as missing:
            plugin["customPluginState"] = "CREATE_FAILED"
            plugin["stateDescription"] = {"code": "InvalidInput", "message": str(missing)}
        return self._add(PLUGIN, params, plugin)

    def _plugin_file(self, s3: dict[str, Any]) -> bytes:
        from moto.s3.models import s3_backends

        bucket = s3["bucketArn"].split(":::", 1)[-1]
        storage = s3_backends[self.account_id][get_partition(self.region_name)]
        try:
            key = storage.get_object(bucket, s3["fileKey"], version_id=s3.get("objectVersion"))
        except ServiceException:  # no such bucket
            key = None
        if key is None:
            raise LookupError(f"The plugin file s3://{bucket}/{s3['fileKey']} does not exist.")
        return bytes(key.value)

    def create_worker_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        created = _now()
        configuration = {
            "creationTime": created,
            "description": params.get("description"),
            "latestRevision": {
                "creationTime": created,
                "description": params.get("description"),
                "propertiesFileContent": params["propertiesFileContent"],
                "revision": 1,
            },
            "name": params["name"],
            "workerConfigurationState": "ACTIVE",
        }
        return self._add(WORKER_CONFIGURATION, params, configuration)

    def create_connector(self, params: dict[str, Any]) -> dict[str, Any]:
        for plugin in params["plugins"]:
            self.describe(PLUGIN, plugin["customPlugin"]["customPluginArn"])
        if "workerConfiguration" in params:
            worker = params["workerConfiguration"]["workerConfigurationArn"]
            self.describe(WORKER_CONFIGURATION, worker)
        connector = _without(params, "tags")
        connector.update(connectorState="RUNNING", creationTime=_now(), currentVersion=_version())
        return self._add(CONNECTOR, params, connector)

    def update_connector(self, arn: str, params: dict[str, Any]) -> dict[str, Any]:
        connector = self.describe(CONNECTOR, arn)
        if params["currentVersion"] != connector["currentVersion"]:
            raise BadRequestException(
                f"currentVersion {params['currentVersion']} is not the connector's current "
                f"version ({connector['currentVersion']})."
            )
        for key in ("capacity", "connectorConfiguration", "plugins", "workerConfiguration"):
            if key in params:
                connector[key] = params[key]
        if params.get("useDefaultWorkerConfiguration"):
            connector.pop("workerConfiguration", None)
        connector["currentVersion"] = _version()
        return connector

    def resource_tags(self, arn: str) -> dict[str, str]:
        if arn not in self.tags:
            raise NotFoundException(f"The resource {arn} does not exist.")
        return self.tags[arn]


kafkaconnect_backends = BackendDict(KafkaConnectBackend, SERVICE)


class KafkaConnectResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> KafkaConnectBackend:
        return kafkaconnect_backends[self.current_account][self.region]

    def _arn(self, kind: str) -> str:
        return str(self._get_param(_ARN_LABEL[kind]))

    def _describe(self, kind: str) -> ActionResult:
        return ActionResult(self.backend.describe(kind, self._arn(kind)))

    def _delete(self, kind: str) -> ActionResult:
        resource = self.backend.delete(kind, self._arn(kind))
        label = _ARN_LABEL[kind]
        return ActionResult({label: resource[label], _STATE[kind]: "DELETING"})

    def _list(self, kind: str, key: str, summary: Any) -> ActionResult:
        prefix_param = "connectorNamePrefix" if kind == CONNECTOR else "namePrefix"
        chosen = self.backend.listing(kind, self._get_param(prefix_param) or "")
        token = self._get_param("nextToken")
        if token is not None and not str(token).isdigit():
            raise BadRequestException(f"Invalid nextToken: {token}")
        start = int(token or 0)
        end = start + (self._get_param("maxResults") or _DEFAULT_PAGE)
        after = str(end) if end < len(chosen) else None
        return ActionResult({key: [summary(r) for r in chosen[start:end]], "nextToken": after})

    def create_custom_plugin(self) -> ActionResult:
        plugin = self.backend.create_custom_plugin(self.params)
        created = {"customPluginState": "CREATING", "revision": 1}
        return ActionResult({**_without(plugin, "customPluginState"), **created})

    def describe_custom_plugin(self) -> ActionResult:
        return self._describe(PLUGIN)

    def list_custom_plugins(self) -> ActionResult:
        return self._list(PLUGIN, "customPlugins", _plugin_summary)

    def delete_custom_plugin(self) -> ActionResult:
        return self._delete(PLUGIN)

    def create_worker_configuration(self) -> ActionResult:
        configuration = self.backend.create_worker_configuration(self.params)
        return ActionResult(_worker_summary(configuration))

    def describe_worker_configuration(self) -> ActionResult:
        return self._describe(WORKER_CONFIGURATION)

    def list_worker_configurations(self) -> ActionResult:
        return self._list(WORKER_CONFIGURATION, "workerConfigurations", _worker_summary)

    def delete_worker_configuration(self) -> ActionResult:
        return self._delete(WORKER_CONFIGURATION)

    def create_connector(self) -> ActionResult:
        connector = self.backend.create_connector(self.params)
        return ActionResult({**connector, "connectorState": "CREATING"})

    def describe_connector(self) -> ActionResult:
        return self._describe(CONNECTOR)

    def list_connectors(self) -> ActionResult:
        return self._list(CONNECTOR, "connectors", _connector_summary)

    def update_connector(self) -> ActionResult:
        connector = self.backend.update_connector(self._arn(CONNECTOR), self.params)
        return ActionResult({**connector, "connectorState": "UPDATING"})

    def delete_connector(self) -> ActionResult:
        return self._delete(CONNECTOR)

    def tag_resource(self) -> ActionResult:
        tags = self.backend.resource_tags(self._get_param("resourceArn"))
        tags.update(self._get_param("tags"))
        return ActionResult({})

    def untag_resource(self) -> ActionResult:
        tags = self.backend.resource_tags(self._get_param("resourceArn"))
        for key in self._get_param("tagKeys"):
            tags.pop(key, None)
        return ActionResult({})

    def list_tags_for_resource(self) -> ActionResult:
        return ActionResult({"tags": self.backend.resource_tags(self._get_param("resourceArn"))})


# What listings show of each kind: the Describe shape less what a summary lacks.
def _plugin_summary(plugin: dict[str, Any]) -> dict[str, Any]:
    return _without(plugin, "stateDescription")


def _worker_summary(configuration: dict[str, Any]) -> dict[str, Any]:
    revision = _without(configuration["latestRevision"], "propertiesFileContent")
    return {**configuration, "latestRevision": revision}


def _connector_summary(connector: dict[str, Any]) -> dict[str, Any]:
    return _without(connector, "connectorConfiguration", "stateDescription")


@fix(
    "moto.backend_index.backend_url_patterns",
    "moto.core.base_backend.BackendDict",
    "moto.core.base_backend.BaseBackend._url_module",
    "moto.core.responses.BaseResponse.dispatch",
    "moto.core.responses.BaseResponse._get_param",
    "moto.core.responses.BaseResponse().automated_parameter_parsing",
    "moto.core.responses.ActionResult",
    "moto.core.exceptions.ServiceException",
    "moto.moto_api._internal.mock_random",
    "moto.s3.models.s3_backends",
    "moto.utilities.utils.get_partition",
    BotocoreShape("kafkaconnect", "CreateConnectorRequest"),
    BotocoreShape("kafkaconnect", "DescribeConnectorResponse"),
)
def service() -> None:
    """Register the service with moto's server: its host pattern and its backends module."""
    # moto has no kafkaconnect service: every MSK Connect call is an HTTP 500.
    module = ModuleType(f"moto.{SERVICE}")
    module.kafkaconnect_backends = kafkaconnect_backends  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    if all(name != SERVICE for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append((SERVICE, re.compile(_URL_BASE)))
