"""The guard every moto fix goes through: what it patches must still be there, in the
versions the fixes were written against.

The fixes patch private moto internals (and, where named, botocore's service models), which
any release may move. A fix declares its targets with `@fix(...)`; before anything is
patched, `check` makes sure each target still exists and the installed moto (and botocore,
for a fix that relies on it) is the pinned version. Otherwise the moto child stops with one
line naming the fix and what is missing or different, e.g.

    moto fix dynamodb.atomic_writes: moto.dynamodb.models.DynamoDBBackend.transact_write_items
    is gone (moto 5.3.0 installed, 5.2.5 pinned): pin moto back or update the fix

`PINNED` must agree with `constraints.txt` at the repository root, which the Makefile (and
so CI) installs with; `tests/unit/test_moto_fix_guard.py` checks that they do.

Target forms: a dotted path to a module, class, function or attribute
(`moto.sqs.models.Queue.add_message`); `Class().name` for an attribute moto sets on each
instance (`moto.sqs.models.Queue().lambda_event_source_mappings`: found when the class's own
source assigns `self.name`); `function(name)` for a parameter a fix binds by name
(`moto.firehose.models.FirehoseBackend.update_destination(s3_destination_update)`);
`BotocoreShape(service, shape)` for a shape of a botocore service model that moto's
(de)serializer reads.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PINNED = {"moto": "5.2.5", "botocore": "1.44.8"}
"""The versions the fixes are written against (constraints.txt pins the same)."""

GROUPS = ("corrections", "speed", "additions", "data_plane")
"""What a fix is (its subpackage): moto answers wrongly; moto answers rightly but too slowly
for a benchmark; API moto lacks (and the private routes of the local engines); moto's own data
plane handed over to a local engine."""


class MotoFixOutdated(RuntimeError):
    """A fix's target is gone or a pinned package has another version (one line)."""


@dataclass(frozen=True)
class BotocoreShape:
    """A shape of a botocore service model, e.g. dynamodb's AttributeValue."""

    service: str
    shape: str

    package = "botocore"

    def __str__(self) -> str:
        return f"botocore's {self.service} shape {self.shape}"

    def exists(self) -> bool:
        import botocore.session

        try:
            model = botocore.session.get_session().get_service_model(self.service)
            model.shape_for(self.shape)
        except Exception:  # UnknownServiceError, NoShapeFoundError
            return False
        return True


Target = str | BotocoreShape


def _package(target: Target) -> str:
    return target.package if isinstance(target, BotocoreShape) else target.split(".")[0]


def resolve(path: str) -> Any:
    """The object at a dotted path; LookupError naming the first missing part."""
    parts = path.split(".")
    modules = len(parts)
    while modules:  # the longest importable module prefix
        try:
            found = importlib.import_module(".".join(parts[:modules]))
            break
        except ImportError:
            modules -= 1
    else:
        raise LookupError(parts[0])
    for depth in range(modules, len(parts)):
        if not hasattr(found, parts[depth]):
            raise LookupError(".".join(parts[: depth + 1]))
        found = getattr(found, parts[depth])
    return found


def missing(target: Target) -> str | None:
    """What is gone of `target` (the path of its first missing part); None if it exists."""
    if isinstance(target, BotocoreShape):
        return None if target.exists() else str(target)
    parameter = ""
    if target.endswith(")") and "()." not in target:
        target, _, parameter = target[:-1].partition("(")
    owner, _, attribute = target.partition("().")
    try:
        found = resolve(owner)
    except LookupError as gone:
        return str(gone.args[0])
    if parameter:
        known = inspect.signature(found).parameters
        return None if parameter in known else f"{target}'s parameter {parameter}"
    if not attribute:
        return None
    # An attribute each instance gets: a method of the class (or a base) assigns it.
    assigns = re.compile(rf"\bself\.{re.escape(attribute)}\s*(:[^=\n]+)?=[^=]")
    if any(assigns.search(_methods_source(cls)) for cls in inspect.getmro(found)):
        return None
    return target


@functools.cache
def _methods_source(cls: type) -> str:
    """The source of the methods a class defines itself (read per method: fast)."""
    sources = []
    for value in vars(cls).values():
        function = value.fget if isinstance(value, property) else value
        function = getattr(function, "__func__", function)  # static and class methods
        if inspect.isfunction(function):
            try:
                sources.append(inspect.getsource(function))
            except (OSError, TypeError):
                continue
    return "\n".join(sources)


def installed_versions(packages: Iterable[str]) -> dict[str, str]:
    """The installed version of each package (importlib.metadata: what pip installed)."""
    return {name: importlib.metadata.version(name) for name in packages}


def _installed(package: str, installed: Mapping[str, str] | None) -> str:
    return (installed or installed_versions([package])).get(package, "none")


def _versions(package: str, installed: Mapping[str, str] | None) -> str:
    """`<package> <installed> installed, <pinned> pinned`."""
    return f"{package} {_installed(package, installed)} installed, {PINNED[package]} pinned"


@dataclass(frozen=True)
class Fix:
    """One patch of moto: `name` (`<service>.<what>`), its group, what it patches or relies
    on, and the function that installs it."""

    name: str
    group: str
    targets: tuple[Target, ...]
    install: Callable[..., None]

    @property
    def packages(self) -> tuple[str, ...]:
        """The pinned packages whose internals this fix touches (moto always)."""
        return tuple(dict.fromkeys(["moto", *(_package(t) for t in self.targets)]))

    def check(self, installed: Mapping[str, str] | None = None) -> None:
        """MotoFixOutdated (one line) unless every target exists and every package the fix
        touches is the pinned version. `installed`: versions by package, read from the
        installed distributions when not given."""
        self.check_targets(installed)
        self.check_versions(installed)

    def check_targets(self, installed: Mapping[str, str] | None = None) -> None:
        for target in self.targets:
            gone = missing(target)
            if gone is not None:
                package = _package(target)
                raise MotoFixOutdated(
                    f"moto fix {self.name}: {gone} is gone ({_versions(package, installed)}): "
                    f"pin {package} back or update the fix"
                )

    def check_versions(self, installed: Mapping[str, str] | None = None) -> None:
        for package in self.packages:
            if _installed(package, installed) != PINNED[package]:
                raise MotoFixOutdated(
                    f"moto fix {self.name}: {_versions(package, installed)}: pin {package} "
                    f"back (constraints.txt) or update the fix and the pin"
                )

    def apply(self, *args: Any) -> None:
        """Check, then install."""
        self.check()
        self.install(*args)


def fix(*targets: Target) -> Callable[[Callable[..., None]], Fix]:
    """Declare the decorated function a fix of what `targets` name. Its name is the
    service module's and the function's (`dynamodb.atomic_writes`), its group the
    subpackage it lives in."""
    unknown = [t for t in targets if _package(t) not in PINNED]
    if unknown:
        raise ValueError(f"targets outside the pinned packages {sorted(PINNED)}: {unknown}")

    def declare(install: Callable[..., None]) -> Fix:
        *_, group, service = install.__module__.split(".")
        if group not in GROUPS:
            raise ValueError(f"{install.__module__}: fixes live in one of {GROUPS}")
        return Fix(f"{service}.{install.__name__}", group, tuple(targets), install)

    return declare


def fixes_in(module: Any) -> list[Fix]:
    """The fixes a module declares, in the order it defines them."""
    return [value for value in vars(module).values() if isinstance(value, Fix)]


def check_all(fixes: Iterable[Fix], installed: Mapping[str, str] | None = None) -> None:
    """Check every fix before any is installed (none is left half-applied): first that
    every target exists (the most telling line), then the versions."""
    chosen = list(fixes)
    for one in chosen:
        one.check_targets(installed)
    for one in chosen:
        one.check_versions(installed)
