"""What a pattern's Terraform root module declares: its variables (type constraint, default,
description) and its output names, read from its `*.tf` files with python-hcl2. A tunable's
default and type are declared once, there; the harness reads them instead of repeating them."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from lark.exceptions import LarkError

from harness.errors import UserError
from harness.patterns.terraform_types import TerraformType, parse_type

_READ = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


@dataclass(frozen=True)
class Variable:
    name: str
    type: TerraformType
    required: bool
    """No default: the caller must set it."""
    default: Any
    description: str


@dataclass(frozen=True)
class RootModule:
    path: Path
    variables: dict[str, Variable]
    outputs: frozenset[str]


def read_root_module(path: Path) -> RootModule:
    """The variables and outputs declared by the `*.tf` files directly in `path`."""
    variables: dict[str, Variable] = {}
    outputs: set[str] = set()
    for tf in sorted(path.glob("*.tf")):
        blocks = _parse(tf)
        for block in blocks.get("variable", []):
            for name, body in block.items():
                variables[name] = _variable(tf, name, body)
        for block in blocks.get("output", []):
            outputs.update(block)
    return RootModule(path, variables, frozenset(outputs))


def _parse(tf: Path) -> dict[str, Any]:
    try:
        with open(tf) as f:
            return dict(hcl2.load(f, serialization_options=_READ))
    except (LarkError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{tf}: not valid HCL: {first}") from None


def _variable(tf: Path, name: str, body: dict[str, Any]) -> Variable:
    try:
        kind = parse_type(body.get("type"))
    except ValueError as exc:
        raise UserError(f"{tf}: variable {name!r}: {exc}") from None
    return Variable(
        name=name,
        type=kind,
        required="default" not in body,
        default=body.get("default"),
        description=str(body.get("description", "")),
    )


def resource_types(path: Path) -> frozenset[str]:
    """The resource types a module creates: those its `*.tf` files declare and, recursively,
    those of the local modules (`source = "./..."` or `"../..."`) it calls."""
    types: set[str] = set()
    seen: set[Path] = set()
    pending = [path.resolve()]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for tf in sorted(module.glob("*.tf")):
            blocks = _parse(tf)
            for block in blocks.get("resource", []):
                types.update(block)
            for block in blocks.get("module", []):
                for body in block.values():
                    source = str(body.get("source", ""))
                    if source.startswith(("./", "../")):
                        pending.append((module / source).resolve())
    return frozenset(types)
