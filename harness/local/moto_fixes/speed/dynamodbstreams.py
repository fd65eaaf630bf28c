"""DynamoDB Streams: a shard iterator is held in its token, not in the server."""

import base64
import threading
from typing import Any

from harness.local.moto_fixes.guard import fix


class _Iterators:
    """A streams backend's `shard_iterators` (moto's dict of every iterator it handed out):
    none is kept; each is rebuilt from its token, which names its shard and position."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._shards: list[Any] = []  # every stream shard an iterator was handed out for
        self._numbers: dict[int, int] = {}  # id(shard) -> its place in _shards
        self._lock = threading.Lock()

    def token_id(self, shard: Any, sequence_number: int | None) -> str:
        """The last part of an iterator's token (moto's is random): shard and position."""
        with self._lock:
            number = self._numbers.setdefault(id(shard), len(self._shards))
            if number == len(self._shards):
                self._shards.append(shard)
        return base64.b64encode(f"{number}:{sequence_number}".encode()).decode()

    def __setitem__(self, token: str, iterator: Any) -> None:
        pass  # its token holds it

    def __getitem__(self, token: str) -> Any:
        from moto.dynamodbstreams.models import ShardIterator

        prefix, _, token_id = token.rpartition("|")
        try:  # base64 of "<shard number>:<sequence number>"
            number, sequence = map(int, base64.b64decode(token_id).decode().split(":"))
        except ValueError:  # not base64, not text, not two numbers
            raise KeyError(token) from None
        if not 0 <= number < len(self._shards):
            raise KeyError(token)
        shard = self._shards[number]
        if not prefix.startswith(f"{shard.table.table_arn}/stream/"):
            raise KeyError(token)
        return ShardIterator(self._backend, shard, "AT_SEQUENCE_NUMBER", sequence)

    def __len__(self) -> int:
        return 0


@fix(
    "moto.dynamodbstreams.models.DynamoDBStreamsBackend.__init__",
    "moto.dynamodbstreams.models.DynamoDBStreamsBackend().shard_iterators",
    "moto.dynamodbstreams.models.ShardIterator.__init__",
    "moto.dynamodbstreams.models.ShardIterator().id",
    "moto.dynamodbstreams.models.ShardIterator().sequence_number",
    "moto.dynamodbstreams.models.ShardIterator.arn",
)
def iterators_in_tokens() -> None:
    # moto keeps every shard iterator it hands out, GetRecords' NextShardIterator included,
    # in a dict it never empties: about 1.6 kB per GetShardIterator or GetRecords call (a
    # poller reading once a second keeps 6 MB an hour). An iterator's state is its shard
    # and position, so its token now carries them (after moto's `<stream arn>|1|`, where
    # moto put 472 random bytes) and each call rebuilds it. Iterators stay reusable, as on
    # AWS.
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    backend_init = DynamoDBStreamsBackend.__init__
    iterator_init = ShardIterator.__init__

    def init_backend(self: Any, *args: Any, **kwargs: Any) -> None:
        backend_init(self, *args, **kwargs)
        self.shard_iterators = _Iterators(self)

    def init_iterator(
        self: Any, streams_backend: Any, stream_shard: Any, *args: Any, **kwargs: Any
    ) -> None:
        iterator_init(self, streams_backend, stream_shard, *args, **kwargs)
        tokens = streams_backend.shard_iterators
        if isinstance(tokens, _Iterators):  # not in a backend made before the fix
            position = getattr(self, "sequence_number", None)  # none for an unknown type
            self.id = tokens.token_id(stream_shard, position)

    DynamoDBStreamsBackend.__init__ = init_backend
    ShardIterator.__init__ = init_iterator
