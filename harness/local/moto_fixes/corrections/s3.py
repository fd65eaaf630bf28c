"""S3: ListObjectVersions honours `encoding-type=url`; a TLS-only bucket policy lets requests
through, as it does for clients on AWS (who always use TLS)."""

import json
from typing import Any
from urllib.parse import quote

from harness.local.moto_fixes.guard import fix


@fix(
    "moto.s3.responses.S3Response.list_object_versions",
    "moto.s3.responses.S3Response.serialized",
)
def list_versions_url_encoding() -> None:
    # moto ignores encoding-type=url here (its object listings honour it): keys come back
    # raw, and an SDK that asked for encoding decodes them, turning a '+' into a space.
    # Terraform's force_destroy then deletes keys that do not exist and never empties a
    # bucket whose keys hold '+' (an MSK Connect S3 sink's all do).
    from moto.s3.responses import S3Response

    list_versions = S3Response.list_object_versions

    def list_object_versions(self: Any) -> Any:
        if self.querystring.get("encoding-type", [None])[0] != "url":
            return list_versions(self)
        serialize = self.serialized

        def encoded(action_result: Any) -> Any:
            result = action_result.result
            for entry in result["Versions"] + result["DeleteMarkers"]:
                entry["Key"] = quote(entry["Key"])
            for prefix in result.get("CommonPrefixes", []):
                prefix["Prefix"] = quote(prefix["Prefix"])
            for field in ("KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"):
                if result.get(field):
                    result[field] = quote(result[field])
            result["EncodingType"] = "url"
            return serialize(action_result)

        self.serialized = encoded
        try:
            return list_versions(self)
        finally:
            del self.serialized

    S3Response.list_object_versions = list_object_versions


@fix(
    "moto.s3.models.FakeBucket.get_permission",
    "moto.s3.models.FakeBucket().policy",
    "moto.iam.access_control.IAMPolicy.is_action_permitted",
    "moto.iam.access_control.PermissionResult.NEUTRAL",
)
def tls_only_policy() -> None:
    # moto evaluates bucket policies without their conditions: the usual TLS-only statement
    # (Deny when aws:SecureTransport is "false") then denies every request. Clients on AWS
    # use TLS, so that statement never applies to them: it is left out before evaluating.
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy)
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [s for s in statements if not _denies_plain_http(s)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(
            action, resource
        )

    FakeBucket.get_permission = get_permission


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and list(condition) == ["Bool"]
        and list(condition["Bool"]) == ["aws:SecureTransport"]
        and str(secure).lower() in ("false", "['false']")
    )
