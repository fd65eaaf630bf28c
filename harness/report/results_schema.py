"""results.json's JSON Schema: generated from the `Results` model into the package
(`results.schema.json`; regenerate with `python -m harness.report.results_schema` after
changing a model) and checked on every write and read of a results file.

The version is MAJOR.MINOR: a minor change only adds optional fields, so a reader of the
same major reads it (the schema allows fields it does not know); a new major is refused.
"""

import functools
import json
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


def major(version: object) -> int | None:
    """The major version of a results file's `schema_version` (2 or "3.0"; None if neither)."""
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and version.partition(".")[0].isdigit():
        return int(version.partition(".")[0])
    return None


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def schema_problem(data: Any) -> str | None:
    """The first place where `data` breaks the schema, in one line (None: it conforms)."""
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: e.path)), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"{where}: {error.message[:200]}"


def generate() -> dict[str, Any]:
    """The schema of the current `Results` model."""
    from harness.report.results import SCHEMA_VERSION, Results

    return {
        "$schema": Draft202012Validator.META_SCHEMA["$id"],
        "$id": f"urn:cdcbench:results:{SCHEMA_VERSION}",
        **Results.model_json_schema(mode="serialization"),
    }


def main() -> None:
    SCHEMA_FILE.write_text(json.dumps(generate(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
