"""S3: a listing under a prefix, or after a key, costs what it returns, not the bucket's size."""

from bisect import bisect_left, bisect_right
from typing import Any

from harness.local.moto_fixes.guard import fix

_MUTATORS = ("__setitem__", "setlist", "pop", "__delitem__", "clear")


@fix(
    "moto.s3.models.S3Backend.list_objects_v2",
    "moto.s3.models.S3Backend._truncate_result",
    "moto.s3.models.S3Backend()._pagination_tokens",
    *(f"moto.s3.utils._VersionedKeyStore.{name}" for name in _MUTATORS),
)
def sorted_listing() -> None:
    # moto answers every ListObjectsV2 by copying the bucket's whole key store, filtering it
    # by prefix, sorting it, then dropping the keys up to StartAfter (or the continuation
    # token): each call costs the bucket's size. An event store's observer lists after the
    # newest key it read, several times a second, as the store grows through the run. Here
    # each key store keeps its names sorted (rebuilt after a change: writes are far rarer
    # than listings) and a listing without a delimiter bisects to its first key and reads
    # only what it returns; listings with a delimiter take moto's way.
    from moto.s3.models import FakeDeleteMarker, S3Backend
    from moto.s3.utils import _VersionedKeyStore

    for name in _MUTATORS:
        _count_changes(_VersionedKeyStore, name)
    listing = S3Backend.list_objects_v2

    def list_objects_v2(
        self: Any,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> Any:
        after = self._pagination_tokens.get(continuation_token) if continuation_token else None
        keys = bucket.keys
        if (
            delimiter
            or not isinstance(keys, _VersionedKeyStore)
            or (continuation_token and not after)
        ):
            return listing(
                self, bucket, prefix, delimiter, continuation_token, start_after, max_keys
            )
        after = after or start_after
        names, prefix = _sorted_names(keys), prefix or ""
        at = bisect_left(names, prefix)
        if after:
            at = max(at, bisect_right(names, after))
        found: list[Any] = []
        while at < len(names) and names[at].startswith(prefix) and len(found) <= max_keys:
            key = keys.get(names[at])
            if key is not None and not isinstance(key, FakeDeleteMarker):
                found.append(key)
            at += 1
        return self._truncate_result(found, max_keys)

    S3Backend.list_objects_v2 = list_objects_v2


def _count_changes(store: type, name: str) -> None:
    """Each change to a key store counts in its `_changes` (after the change: a listing that
    read the names before it sees the count move and reads them again)."""
    change = getattr(store, name)

    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return change(self, *args, **kwargs)
        finally:
            self.__dict__["_changes"] = self.__dict__.get("_changes", 0) + 1

    setattr(store, name, changed)


def _sorted_names(keys: Any) -> list[str]:
    """The store's key names in order, read again only after it changed."""
    state = keys.__dict__
    changes = state.get("_changes", 0)
    cached = state.get("_sorted_names")
    if cached is None or cached[0] != changes:
        cached = (changes, sorted(dict.keys(keys)))
        state["_sorted_names"] = cached
    return cached[1]
