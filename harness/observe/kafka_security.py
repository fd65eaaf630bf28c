"""How a Kafka client of the harness reaches an MSK cluster's brokers: by the port of the
bootstrap string it is given, as MSK documents its ports (developer guide, "Port
information"): 9092 plaintext; 9094 TLS (9194 with public access, 20094 over IPv6); 9098
IAM access control (9198 public, 20098 IPv6), which is TLS with SASL/OAUTHBEARER tokens
signed with the caller's AWS credentials (`aws-msk-iam-sasl-signer-python`, AWS's signer).
The embedded broker listens on other ports: plaintext. SASL/SCRAM (9096) is not used by
the patterns and is refused in one line."""

from collections.abc import Callable
from typing import Any

import certifi

from harness.errors import UserError

TLS_PORTS = frozenset({9094, 9194, 20094})
IAM_PORTS = frozenset({9098, 9198, 20098})
SCRAM_PORTS = frozenset({9096, 9196, 20096})


def _ports(bootstrap: str) -> set[int]:
    ports = set()
    for broker in bootstrap.split(","):
        _, _, port = broker.strip().rpartition(":")
        if not port.isdigit():
            raise UserError(f"Kafka bootstrap {bootstrap!r}: expected host:port[,host:port...]")
        ports.add(int(port))
    return ports


def client_security(bootstrap: str, region: str) -> dict[str, Any]:
    """librdkafka settings for reaching these brokers ({} for plaintext)."""
    ports = _ports(bootstrap)
    if ports & SCRAM_PORTS:
        raise UserError(
            f"Kafka bootstrap {bootstrap}: SASL/SCRAM brokers are not supported: give the "
            "cluster's TLS or IAM bootstrap brokers"
        )
    # MSK's certificates chain to Amazon's public CAs: certifi's bundle holds them.
    if ports <= TLS_PORTS:
        return {"security.protocol": "SSL", "ssl.ca.location": certifi.where()}
    if ports <= IAM_PORTS:
        return {
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": certifi.where(),
            "sasl.mechanism": "OAUTHBEARER",
            "oauth_cb": iam_token(region),
        }
    if ports & (TLS_PORTS | IAM_PORTS):
        raise UserError(f"Kafka bootstrap {bootstrap}: brokers of more than one kind of port")
    return {}


def iam_token(region: str) -> Callable[[Any], tuple[str, float]]:
    """librdkafka's `oauth_cb`: a token signed with the standard chain's credentials, and
    when it expires (seconds since the epoch)."""

    def token(_config: Any) -> tuple[str, float]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return value, expiry_ms / 1000

    return token
