"""The `localstack` target: the services a LocalStack endpoint serves, and the embedded
cloud (moto, the local engines, the throwaway PostgreSQL source) for the rest.

The endpoint is `LOCALSTACK_ENDPOINT` or `AWS_ENDPOINT_URL`; without one, and where a Docker
engine is reachable, LocalStack is started with testcontainers (image
`CDCBENCH_LOCALSTACK_IMAGE`, `LOCALSTACK_AUTH_TOKEN` passed through). Its health answer says
what it serves; `routing.route` places each service the run's patterns need, and every
client, Terraform's provider included, reaches each service at its own endpoint
(`AWS_ENDPOINT_URL_<SERVICE>`). The results record which service ran where.

Clients come from `AwsAccess`, as on every target, not from `localstack-client`: its
sessions point every service at LocalStack, where here each service has its own endpoint.
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.errors import UserError
from harness.local.component import Component
from harness.local.moto_server import MotoServer
from harness.settings import Settings
from harness.targets.base import TargetOptions
from harness.targets.local import LocalTarget
from harness.targets.routing import Routing, route, served

HEALTH_PATH = "/_localstack/health"
ENDPOINT_VARIABLES = ("LOCALSTACK_ENDPOINT", "AWS_ENDPOINT_URL")


def probe(endpoint: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """LocalStack's health answer at `endpoint`; UserError when nothing answers like it."""
    url = endpoint.rstrip("/") + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            health = json.loads(answer.read())
        served(health)
    except urllib.error.HTTPError as exc:
        raise UserError(
            f"{endpoint} answers {HEALTH_PATH} with HTTP {exc.code}: is it LocalStack?"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"LocalStack endpoint {endpoint} is unreachable ({reason}): start LocalStack, "
            "or set LOCALSTACK_ENDPOINT to where it listens"
        ) from None
    except ValueError:
        raise UserError(
            f"{endpoint} does not answer {HEALTH_PATH} as LocalStack does: is it LocalStack?"
        ) from None
    return dict(health)


class LocalStackTarget(LocalTarget):
    name = "localstack"
    summary = "a LocalStack endpoint, with the embedded cloud for what it lacks"

    def __init__(
        self, settings: Settings, log_dir: Path, options: TargetOptions | None = None
    ) -> None:
        super().__init__(settings, log_dir, options)
        self.endpoint = ""
        self.health: dict[str, Any] = {}
        self.routing = Routing(localstack=frozenset(), embedded={})
        self._container: Any = None

    def start(self) -> None:
        self.endpoint = self._endpoint()
        self.health = probe(self.endpoint)
        self.routing = route(self.options.services, served(self.health))
        # ARNs cross between the two APIs: moto answers as LocalStack's account
        remote = self.emulator(self.endpoint).client("sts")
        self.account_id = str(remote.get_caller_identity()["Account"])
        super().start()

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self._container is not None:
                self._container.stop()
                self._container = None

    def cannot_deny(self, action: str) -> str | None:
        service = action.split(":")[0]
        if service in self.routing.embedded:
            return super().cannot_deny(action)
        return (
            f"LocalStack enforces no resource policy on {service} unless started with "
            "ENFORCE_IAM=1 (LocalStack Pro), so a Deny would not refuse anything"
        )

    def cannot_throttle(self, service: str) -> str | None:
        if service in self.routing.embedded:
            return super().cannot_throttle(service)
        return f"LocalStack throttles no {service} request on a limit set through its API"

    def runs(self, component: Component) -> bool:
        """The embedded cloud, and each engine whose service is embedded (LocalStack runs
        what it serves itself)."""
        return component.serves is None or component.serves in self.routing.embedded

    def worker_variables(self, config: dict[str, Any]) -> dict[str, Any]:
        """Those of the local target while the embedded ECS engine runs the workers; where
        LocalStack runs ECS tasks itself, they are containers of a cdcbench image that must
        reach the master on this host."""
        if "ecs" not in self.routing.embedded and not {"image", "master_host"} <= set(config):
            raise UserError(
                "the LocalStack endpoint runs ECS tasks itself: give --workers-config with "
                "image (a cdcbench image) and master_host (this host as its containers see it)"
            )
        return super().worker_variables(config)

    def cannot_run(self, services: frozenset[str]) -> str | None:
        missing = sorted(services & self.routing.missing)
        if not missing:
            return None
        return (
            f"needs {', '.join(missing)}, which neither the LocalStack endpoint nor the "
            "embedded cloud serves"
        )

    @property
    def aws(self) -> AwsAccess:
        moto = self.component(MotoServer)
        embedded = {service: moto.endpoint(service) for service in self.routing.embedded}
        return self.emulator(self.endpoint).routed(embedded)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "name": self.name,
            "aws_endpoint": self.endpoint,
            "embedded_endpoint": self.component(MotoServer).endpoint_url,
            "localstack": {
                "endpoint": self.endpoint,
                "edition": self.health.get("edition", "unknown"),
                "version": self.health.get("version", "unknown"),
            },
            "services": self.routing.where(),
            "embedded_because": self.routing.embedded,
        }

    def _endpoint(self) -> str:
        for variable in ENDPOINT_VARIABLES:
            if os.environ.get(variable):
                return os.environ[variable]
        return self._start_container()

    def _start_container(self) -> str:
        """LocalStack in a container (testcontainers), where a Docker engine is reachable."""
        import docker

        try:
            docker.from_env(timeout=3).ping()
        except Exception:
            raise UserError(
                "no LocalStack endpoint and no Docker engine to start one: set "
                "LOCALSTACK_ENDPOINT (e.g. http://localhost:4566), or run where Docker is"
            ) from None
        from testcontainers.localstack import LocalStackContainer

        image = self.settings.localstack_image
        container = LocalStackContainer(image=image, region_name=self.settings.aws_region)
        token = os.environ.get("LOCALSTACK_AUTH_TOKEN")
        if token:
            container.with_env("LOCALSTACK_AUTH_TOKEN", token)
        self._container = container
        try:
            container.start()
        except Exception as exc:
            raise UserError(
                f"LocalStack ({image}) did not start: {type(exc).__name__}: {exc}. Images "
                "after 2026-03-23 need LOCALSTACK_AUTH_TOKEN: set it, or pin "
                "CDCBENCH_LOCALSTACK_IMAGE to a 4.x community tag"
            ) from None
        return str(container.get_url())
