"""Which changes an object store showed only in objects that landed late: after an object
of their family (folder and name up to its first digit) that sorts after them had been
seen. A reader taking a folder's objects in key order, as DMS's S3 source does, skips such
an object, so whatever reads the store through it lacks exactly those changes.

Read from the store's observation log: positions are `<object key>:<n>` and an object's
changes carry when a listing first showed it (`S3ObjectsObserver`)."""

from harness.load.ledger import Version
from harness.observe.base import Observations
from harness.observe.s3_objects import family_of


def shown_only_late(observations: Observations) -> set[Version]:
    """The versions the store showed only from late objects."""
    first_seen: dict[str, int] = {}
    shown: dict[Version, set[str]] = {}
    for seen in observations:
        obj = seen.position.rpartition(":")[0]
        first_seen[obj] = min(first_seen.get(obj, seen.seen_ns), seen.seen_ns)
        shown.setdefault((seen.table, seen.key, seen.version), set()).add(obj)
    late = _late(first_seen)
    return {version for version, objects in shown.items() if objects <= late}


def _late(first_seen: dict[str, int]) -> set[str]:
    """The objects first seen after an object of their family that sorts after them."""
    families: dict[str, list[str]] = {}
    for obj in first_seen:
        families.setdefault(family_of(obj), []).append(obj)
    late = set()
    for objects in families.values():
        earliest_after = None  # the earliest sighting among the objects sorting after
        for obj in sorted(objects, reverse=True):
            if earliest_after is not None and earliest_after < first_seen[obj]:
                late.add(obj)
            seen = first_seen[obj]
            earliest_after = seen if earliest_after is None else min(earliest_after, seen)
    return late
