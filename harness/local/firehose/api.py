"""The engine's side of the private route in `harness.local.moto_fixes.data_plane.firehose`:
the records moto took for delivery streams with an S3 destination, handed over in arrival
order, and the deletions of those streams."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from harness.aws import AwsAccess
from harness.local.firehose.buffers import Batch
from harness.local.private_api import PrivateApi


@dataclass(frozen=True)
class Deleted:
    """A delivery stream was deleted (after the records handed over before it)."""

    stream: str


class FirehoseApi:
    """Private Firehose routes of the emulated API, for the caller's account and region."""

    def __init__(self, aws: AwsAccess) -> None:
        self._api = PrivateApi(aws, "firehose")

    def take(self, wait_s: float) -> list[Batch | Deleted]:
        """What arrived since the last call, waiting up to `wait_s` for something to come."""
        answer = self._api.call(f"/cdcbench/firehose/records?wait={wait_s:.3f}", method="GET")
        handed: list[Batch | Deleted] = []
        for item in answer["Handed"]:
            if item.get("Deleted"):
                handed.append(Deleted(item["DeliveryStreamName"]))
                continue
            handed.append(
                Batch(
                    stream=item["DeliveryStreamName"],
                    version=item["VersionId"],
                    destination=item["Destination"],
                    arrival=float(item["ArrivalTime"]),
                    records=[base64.b64decode(data) for data in item["Records"]],
                )
            )
        return handed
