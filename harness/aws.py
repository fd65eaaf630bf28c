"""How to reach an AWS API (the real one or an emulator): region, endpoint, credentials,
and boto3 clients made from them. A leaf module: targets, local engines, observers and
application behaviours all import it, and it imports none of them."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore.config import Config

_ENDPOINT_ENV = "AWS_ENDPOINT_URL"
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
HARNESS_AGENT = "cdcbench-harness"
"""In the User-Agent of the harness's own calls (observers, the local engines' control
calls): not the pattern's, so an emulator's usage meter leaves them out."""
_LOADER = botocore.loaders.create_loader()
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}
)
"""The error codes of a request throttled (AWS SDKs retry them with backoff)."""


def backoff_s(attempt: int) -> float:
    """How long to wait before retrying a throttled request a `attempt`th time (from 0):
    50 ms doubling, at most 1 s."""
    return min(1.0, 0.05 * 2**attempt)


def throttled(exc: BaseException) -> bool:
    """Whether `exc` is an AWS API's answer that the request was throttled."""
    return (
        isinstance(exc, botocore.exceptions.ClientError)
        and exc.response.get("Error", {}).get("Code") in THROTTLING_CODES
    )


@dataclass(frozen=True)
class AwsAccess:
    """How to reach an AWS API: region, optional endpoint and static credentials."""

    region: str
    endpoint_url: str | None = None
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    max_attempts: int | None = None
    """Emulators answer unimplemented calls with HTTP 500: retrying them only wastes minutes."""
    agent: str = ""
    """Added to the User-Agent of its clients (`HARNESS_AGENT` for the harness's own)."""
    endpoints: dict[str, str] = field(default_factory=dict)
    """Per-service endpoints over `endpoint_url` (e.g. what LocalStack lacks, served by
    moto), keyed as `AWS_ENDPOINT_URL_<KEY>` names them (`endpoint_key("dms")`); make them
    with `routed`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AwsAccess":
        """The inverse of `env()`: how a subprocess given that environment reaches the API."""
        credentials = {k: env[k] for k in _CREDENTIALS if k in env}
        attempts = env.get("AWS_MAX_ATTEMPTS")
        prefix = f"{_ENDPOINT_ENV}_"
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get(_ENDPOINT_ENV),
            credentials=credentials,
            max_attempts=int(attempts) if attempts else None,
            endpoints={k[len(prefix) :]: url for k, url in env.items() if k.startswith(prefix)},
        )

    @classmethod
    def emulated(cls, region: str, endpoint: str) -> "AwsAccess":
        """An emulated AWS API at `endpoint`: any credentials do, and no retries (an
        emulator answers what it lacks with HTTP 500)."""
        credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        return cls(region=region, endpoint_url=endpoint, credentials=credentials, max_attempts=1)

    def env(self, sdk_retries: bool = False) -> dict[str, str]:
        """Environment for Terraform's provider and other AWS SDK subprocesses.
        `sdk_retries`: leave retries to the SDK's defaults, as AWS runs code (a function's, a
        task's): a throttled write is retried as it would be there."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **self.credentials}
        if self.endpoint_url:
            env[_ENDPOINT_ENV] = self.endpoint_url
        for key, url in self.endpoints.items():
            env[f"{_ENDPOINT_ENV}_{key}"] = url
        if self.max_attempts and not sdk_retries:
            env["AWS_MAX_ATTEMPTS"] = str(self.max_attempts)
        return env

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this API (one per thread: clients are not shared)."""
        core = botocore.session.get_session()
        # One loader for every session: service models are parsed once per process, not
        # once per client (that parse dominated creating a client).
        core.register_component("data_loader", _LOADER)
        session = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=self.credentials.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.credentials.get("AWS_SECRET_ACCESS_KEY"),
            botocore_session=core,
        )
        retries = {"max_attempts": self.max_attempts or 5, "mode": "standard"}
        config = Config(
            retries=retries,
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra=self.agent or None,
        )
        return session.client(service, endpoint_url=self.endpoint(service), config=config)

    def endpoint(self, service: str) -> str | None:
        """Where `service` (a boto3 name) is served; None: AWS's own endpoint."""
        if not self.endpoints:
            return self.endpoint_url
        return self.endpoints.get(endpoint_key(service), self.endpoint_url)

    def routed(self, endpoints: Mapping[str, str]) -> "AwsAccess":
        """This access with `endpoints` (by boto3 service name) served elsewhere."""
        keyed = {endpoint_key(service): url for service, url in endpoints.items()}
        return replace(self, endpoints={**self.endpoints, **keyed})


@functools.cache
def endpoint_key(service: str) -> str:
    """The SDKs' name for a service in `AWS_ENDPOINT_URL_<SERVICE>` (its model's serviceId,
    upper case, spaces as underscores: `dms` -> `DATABASE_MIGRATION_SERVICE`), which
    boto3 and Terraform's AWS provider both read."""
    service_id = _LOADER.load_service_model(service, "service-2")["metadata"]["serviceId"]
    return str(service_id).upper().replace(" ", "_")
