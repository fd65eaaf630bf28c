"""Which services a LocalStack endpoint serves for a run, and which the embedded cloud
(moto with the local engines) serves instead.

LocalStack answers `GET /_localstack/health` with the state of each service it emulates.
A service goes to the embedded cloud when the endpoint does not serve it, or when LocalStack
cannot run it the way the patterns use it (`ENGINE_ONLY`, with the reason recorded). Then
what moto checks across its own services must live beside it (`COUPLED`): moto's DMS and
RDS look up their subnets in moto's EC2; moto's Lambda looks up a function's role in its
IAM and a mapping's source in its SQS, Kinesis, DynamoDB Streams or MSK; and a function
whose source is in the embedded cloud must be run there (LocalStack cannot map from it).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SERVING = frozenset({"available", "running"})
"""Health states of a service LocalStack serves (others: disabled, starting, error)."""
ENGINE_ONLY = {
    "dms": "LocalStack's DMS reads PostgreSQL only into Kinesis, and not full load with CDC",
    "kafka": "MSK is in LocalStack's paid tiers, and the local broker serves the patterns",
    "kafkaconnect": "LocalStack does not emulate MSK Connect",
    "rds": "the patterns' databases are the embedded PostgreSQL (logical replication)",
}
EMBEDDED = frozenset(
    {
        *("dms", "kafka", "kafkaconnect", "lambda", "firehose", "events", "rds"),
        *("dynamodb", "dynamodbstreams", "kinesis", "s3", "sqs", "logs", "ec2"),
        *("iam", "sts", "kms", "secretsmanager"),
    }
)
"""What the embedded cloud serves as the patterns use it (moto, with the local engines where
a service runs something: DMS tasks, functions, connectors, deliveries, rules, databases)."""
LAMBDA_SOURCES = frozenset({"sqs", "kinesis", "dynamodb", "dynamodbstreams", "kafka"})
COUPLED: dict[str, frozenset[str]] = {
    "dms": frozenset({"ec2"}),
    "rds": frozenset({"ec2"}),
    "lambda": LAMBDA_SOURCES | {"iam"},
}


@dataclass(frozen=True)
class Routing:
    """Where each service a run needs is served."""

    localstack: frozenset[str]
    embedded: dict[str, str]
    """Service -> why it is served by the embedded cloud."""
    missing: frozenset[str] = frozenset()
    """Services needed that neither serves: a pattern needing one cannot run."""

    def where(self) -> dict[str, str]:
        """Service -> "localstack", "embedded" or "nowhere", for the results."""
        placed = {s: "localstack" for s in self.localstack}
        placed |= {s: "embedded" for s in self.embedded} | {s: "nowhere" for s in self.missing}
        return dict(sorted(placed.items()))


def served(health: Mapping[str, object]) -> frozenset[str]:
    """The services a LocalStack health answer (`{"services": {name: state}}`) serves."""
    services = health.get("services")
    if not isinstance(services, dict):
        raise ValueError("not a LocalStack health answer: no `services` object")
    return frozenset(name for name, state in services.items() if state in SERVING)


def route(needed: Iterable[str], serving: frozenset[str]) -> Routing:
    """Place each needed service: on LocalStack where it serves it and nothing moto
    couples to it is embedded; otherwise in the embedded cloud, with the reason."""
    needed = frozenset(needed)
    if "dynamodb" in needed:
        needed |= {"dynamodbstreams"}
    embedded: dict[str, str] = {}
    for service in sorted(needed):
        if service in ENGINE_ONLY:
            embedded[service] = ENGINE_ONLY[service]
        elif service not in serving:
            embedded[service] = "the LocalStack endpoint does not serve it"
    changed = True
    while changed:
        changed = False
        pulled: dict[str, str] = {}
        if "lambda" in needed and "lambda" not in embedded:
            sources = sorted(LAMBDA_SOURCES & set(embedded))
            if sources:
                pulled["lambda"] = f"its event source ({', '.join(sources)}) is embedded"
        for service in list(embedded):
            for coupled in sorted(COUPLED.get(service, frozenset()) & needed):
                if coupled not in embedded:
                    pulled[coupled] = f"moto's {service} looks it up in moto"
        for service, why in pulled.items():
            if service not in embedded:
                embedded[service], changed = why, True
    missing = frozenset(s for s in embedded if s not in EMBEDDED)
    for service in missing:
        del embedded[service]
    return Routing(localstack=needed - set(embedded) - missing, embedded=embedded, missing=missing)
