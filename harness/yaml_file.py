"""Reading a YAML file the user wrote (a scenario, a pattern descriptor): any problem is one
line naming the file and, for bad YAML, the line."""

from pathlib import Path
from typing import Any

import yaml

from harness.errors import UserError


def read_yaml(path: Path, what: str) -> Any:
    """The document in `path`; `what` names it in errors ("scenario file")."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: not valid YAML{where}: {problem}") from None
