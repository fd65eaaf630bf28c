"""The usage meter's units: DynamoDB item sizes as DynamoDB counts them, and which request
is billed what (before any server is involved)."""

import pytest

from harness.local.moto_fixes.additions.usage import item_size, read_units, request_units


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"pk": {"S": "héllo"}}, 2 + 6),  # UTF-8 bytes of name and value
        ({"n": {"N": "-12345.67"}}, 1 + 4 + 1),  # about a byte per two digits, plus one
        ({"b": {"B": "AAEC"}}, 1 + 3),  # base64 of 3 bytes
        ({"ok": {"BOOL": True}, "no": {"NULL": True}}, 2 + 1 + 2 + 1),
        ({"m": {"M": {"a": {"S": "xy"}}}}, 1 + 3 + (1 + 2 + 1)),
        ({"l": {"L": [{"S": "x"}, {"N": "1"}]}}, 1 + 3 + (1 + 1) + (2 + 1)),
        ({"ss": {"SS": ["ab", "c"]}}, 2 + 3),
    ],
)
def test_item_sizes(item: dict[str, dict[str, object]], size: int) -> None:
    assert item_size(item) == size


def test_which_requests_are_billed_what() -> None:
    def units(service: str, operation: str = "", method: str = "POST", path: str = "/") -> dict:
        return dict(request_units(service, operation, method, path, "", b"{}"))

    assert units("s3", method="GET", path="/bucket/key") == {"s3.get_request": 1}
    assert units("s3", method="GET", path="/bucket") == {"s3.put_request": 1}  # a listing
    assert units("s3", method="HEAD", path="/bucket/key") == {"s3.get_request": 1}
    assert units("kms", "Decrypt") == {"kms.request": 1}
    assert units("kinesis", "DescribeStream") == {}  # control calls cost nothing extra
    assert units("dynamodbstreams", "GetRecords") == {}  # Lambda's reads are free
    assert dict(read_units("Query", b'{"ConsistentRead": true}', 9000)) == {
        "dynamodb.read_request_unit": 3.0
    }
    assert dict(read_units("Scan", b"{}", 100)) == {"dynamodb.read_request_unit": 0.5}
