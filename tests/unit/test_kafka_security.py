"""A Kafka client of the harness speaks to MSK brokers as their ports say (MSK's port
table): TLS on 9094/9194, TLS with IAM tokens on 9098/9198, plaintext elsewhere (the
embedded broker); SCRAM and mixed strings are one line."""

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from harness.errors import UserError
from harness.observe.kafka_security import client_security


def test_tls_ports_get_tls_with_a_ca_bundle() -> None:
    settings = client_security("b-1.x.kafka.us-east-1.amazonaws.com:9094,b-2.x:9094", "us-east-1")

    assert settings["security.protocol"] == "SSL"
    assert settings["ssl.ca.location"].endswith(".pem")


def test_the_embedded_broker_is_plaintext() -> None:
    assert client_security("127.0.0.1:40123,127.0.0.1:40125", "us-east-1") == {}


def test_iam_ports_get_signed_tokens_for_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")

    settings = client_security("b-1.x:9098,b-2.x:9098", "eu-west-1")
    token, expires_s = settings["oauth_cb"](None)

    assert settings["security.protocol"] == "SASL_SSL"
    assert settings["sasl.mechanism"] == "OAUTHBEARER"
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    assert url.netloc == "kafka.eu-west-1.amazonaws.com"
    query = parse_qs(url.query)
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert expires_s > 1_700_000_000  # seconds since the epoch, not milliseconds
    assert expires_s < 10_000_000_000


@pytest.mark.parametrize(
    ("bootstrap", "says"),
    [
        ("b-1.x:9096", "SASL/SCRAM"),
        ("b-1.x:9094,b-2.x:9092", "more than one kind"),
        ("b-1.x", "host:port"),
    ],
)
def test_what_it_cannot_use_is_one_line(bootstrap: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        client_security(bootstrap, "us-east-1")
