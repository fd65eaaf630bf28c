"""S3: ListObjectVersions honours `encoding-type=url`."""

from typing import Any
from urllib.parse import quote


def apply() -> None:
    from moto.s3.responses import S3Response

    list_versions = S3Response.list_object_versions

    def list_object_versions(self: Any) -> Any:
        # moto ignores encoding-type=url here (its object listings honour it): keys come
        # back raw, and an SDK that asked for encoding decodes them, turning a '+' into a
        # space. Terraform's force_destroy then deletes keys that do not exist and never
        # empties a bucket whose keys hold '+' (an MSK Connect S3 sink's all do).
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
