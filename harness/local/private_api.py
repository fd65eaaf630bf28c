"""Signed calls to the private routes `harness.local.moto_fixes` adds to the emulated API.

The local engines report state back (task status, mapping results) and read what AWS
keeps but its public API does not return (endpoint passwords, function code) through
these routes. Requests are signed and sent like any AWS call (botocore's SigV4 signer
and HTTP session), since boto3 only sends operations in its service models.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session

from harness.aws import AwsAccess


class PrivateApiError(RuntimeError):
    """A private route answered with an error (the message names the route and status)."""


class PrivateApi:
    """Private routes of one emulated service (`service` as in the SigV4 credential scope)."""

    def __init__(self, aws: AwsAccess, service: str, read_timeout_s: float = 60) -> None:
        endpoint = aws.endpoint(service)
        if not endpoint:
            raise ValueError(f"the local {service} engine needs an emulated AWS API endpoint")
        self.endpoint_url = endpoint.rstrip("/")
        self.region = aws.region
        self.service = service
        self._credentials = Credentials(
            aws.credentials.get("AWS_ACCESS_KEY_ID", "test"),
            aws.credentials.get("AWS_SECRET_ACCESS_KEY", "test"),
        )
        self._http = URLLib3Session(timeout=read_timeout_s)

    def call(
        self,
        path: str = "/",
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send `body` as JSON to `path`; the JSON answer (empty answers give {})."""
        data = json.dumps(body or {}, default=str)
        request = AWSRequest(method, self.endpoint_url + path, data=data, headers=headers or {})
        SigV4Auth(self._credentials, self.service, self.region).add_auth(request)
        response = self._http.send(request.prepare())
        if response.status_code != 200:
            raise PrivateApiError(
                f"{self.service} {path}: HTTP {response.status_code}: {response.text[:200]}"
            )
        return dict(json.loads(response.content or b"{}"))
