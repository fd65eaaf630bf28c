"""Helpers for the private routes the fixes add to moto's server (`{0}/cdcbench/...` URL
paths of a service). A route handler takes moto's (request, full_url, headers) and answers
(status, headers, body); the client side is `harness.local.private_api`."""

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

Response = tuple[int, dict[str, Any], str | bytes]


def response_for(response_cls: Any, request: Any, full_url: str, headers: Any) -> Any:
    """A moto response object set up for the request, as moto's own dispatch sets one up:
    its `backend`, `current_account` and `region` are those of the request's signature."""
    response = response_cls()
    response.setup_class(request, full_url, headers)
    return response


def json_answer(body: Any, status: int = 200) -> Response:
    return status, {"status": status, "content-type": "application/json"}, json.dumps(body)


def error_answer(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "message": message})
    return status, {"status": status, "x-amzn-errortype": error_type}, body


def path_part(full_url: str, index: int) -> str:
    """One segment of the URL's path (negative: from the end), unquoted."""
    return unquote(urlparse(full_url).path.rstrip("/").split("/")[index])


def query_float(full_url: str, name: str, default: float) -> float:
    return float(parse_qs(urlparse(full_url).query).get(name, [default])[0])
