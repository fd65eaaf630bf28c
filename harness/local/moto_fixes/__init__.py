"""Fixes to moto, applied inside the moto server process only (`harness.local.moto_child`).

Grouped by what they are, one subpackage each and one module per service inside:
- `corrections/`: moto answers differently from AWS (each shown on moto without the fix in
  `tests/unit/test_moto_corrections.py`, so a test there says when a fix can go);
- `speed/`: moto answers rightly but too slowly for a benchmark;
- `additions/`: API moto lacks (MSK Connect, GetBootstrapBrokers, Kafka event sources,
  DescribeTableStatistics), the private routes of the local engines, a meter of billed
  usage, and lookups in the other moto processes of a split (`peers`);
- `data_plane/`: what moto would run itself (Lambda delivery and Invoke, DMS tasks, Firehose
  delivery) handed over to the local engines in the harness process.

Each fix is a function declared with `guard.fix(...)`, named `<service>.<what>`, with a
comment naming the moto behaviour it changes. Private routes are reached through
`harness.local.private_api`. moto and botocore are pinned (constraints.txt, `guard.PINNED`):
`apply` checks every fix against the installed versions before installing any.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from types import ModuleType

from harness.local.moto_fixes.guard import PINNED, Fix, MotoFixOutdated, check_all, fixes_in

MODULES = (
    "corrections.server",
    "speed.server",
    "corrections.dms",
    "corrections.dynamodb",
    "corrections.kinesis",
    "corrections.awslambda",
    "corrections.msk",
    "corrections.s3",
    "corrections.sqs",
    "corrections.rds",
    "speed.dynamodb",
    "speed.dynamodbstreams",
    "speed.kinesis",
    "speed.sqs",
    "speed.s3",
    "additions.kafkaconnect",
    "additions.msk",
    "additions.awslambda",
    "additions.dms",
    "additions.dynamodb",
    "additions.iam",
    "additions.sqs",
    "additions.usage",
    "additions.peers",
    "data_plane.awslambda",
    "data_plane.dms",
    "data_plane.firehose",
    "data_plane.rds",
)
"""Every fix module, in the order their fixes are installed (a fix that wraps a method another
fix wraps comes after it: corrections before additions)."""

ARGUMENTS = {
    "msk.bootstrap_brokers": "kafka_bootstrap",
    "rds.local_endpoints": "postgres_address",
    "peers.lambda_event_sources": "peers",
}
"""The fixes that take an argument, and which: the brokers every MSK cluster answers with,
the embedded PostgreSQL's `host:port` every PostgreSQL-compatible database answers with, the
endpoints of the other moto processes of a split (JSON, by service)."""


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:  # a module that subclasses moto's classes at import
        installed = importlib.metadata.version("moto")
        raise MotoFixOutdated(
            f"moto fix module {name}: {exc} (moto {installed} installed, {PINNED['moto']} "
            f"pinned): pin moto back or update the fix"
        ) from None


def all_fixes() -> list[Fix]:
    """Every fix, in installation order."""
    return [one for name in MODULES for one in fixes_in(_module(name))]


def apply(**arguments: str | None) -> None:
    """Check, then install every fix (MotoFixOutdated, one line, if one cannot be). Called
    once by the moto child before it serves requests. A fix whose argument (`ARGUMENTS`)
    is not given is left out: without `kafka_bootstrap`, GetBootstrapBrokers stays
    unimplemented; without `postgres_address`, databases keep moto's made-up endpoints."""
    chosen = [f for f in all_fixes() if f.name not in ARGUMENTS or arguments.get(ARGUMENTS[f.name])]
    check_all(chosen)
    for one in chosen:
        if one.name in ARGUMENTS:
            one.install(arguments[ARGUMENTS[one.name]])
        else:
            one.install()
