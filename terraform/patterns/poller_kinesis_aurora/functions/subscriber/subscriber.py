"""The change-event subscriber: applies the publisher's change events (one per changed row,
from Kinesis) to the relational replica.

A batch is one transaction, its records in order. A row is upserted only over an older
version and deleted only up to the deleted version, so the replica never goes backwards and a
replayed batch is harmless: any failure raises and Lambda's Kinesis mapping retries the batch.
Tables and columns are created from each event's `columns` (the source's SQL types) the first
time they are seen. Values go in as text cast to those types, so the replica holds exactly
the source's values.

Environment: REPLICA_HOST, REPLICA_PORT (default 5432), REPLICA_DATABASE, REPLICA_SECRET_ARN
(a Secrets Manager secret {"username", "password"}, as RDS manages it) and REPLICA_TLS:
- "require" (default): encrypted, certificate not checked (libpq's sslmode=require; the RDS
  certificate authority is not in the Lambda runtime's trust store);
- "verify": certificate and host name checked against the system's CAs, or the bundle named
  by SSL_CERT_FILE;
- "off": no TLS (a database that offers none).
"""

import base64
import contextlib
import json
import os
import re
import ssl
from collections import Counter
from decimal import Decimal
from typing import Any

import boto3
import pg8000.native
from botocore.exceptions import ClientError
from pg8000.exceptions import DatabaseError, Error, InterfaceError

_SQL_TYPE = re.compile(r'[A-Za-z_"][\w ."]*(\(\d+(,\d+)?\))?[\w ]*(\[\])*')
"""A column type as PostgreSQL's format_type writes it, e.g. `numeric(19,4)`, `text[]`."""
_DROPPED = ("08", "57P")
"""SQLSTATE classes of a lost connection (connection exception, server shutdown)."""

_connection: pg8000.native.Connection | None = None
_known: dict[str, set[str]] = {}
"""Table -> the columns the replica is known to have."""


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Apply the batch's change events; how many records it had."""
    changes = [
        json.loads(base64.b64decode(record["kinesis"]["data"]), parse_float=Decimal)
        for record in event["Records"]
    ]
    try:
        tables = _apply(_replica(), changes)
    except (InterfaceError, DatabaseError, OSError) as exc:
        if not _dropped(exc):
            raise
        _close()  # the connection was dropped since the last batch: reconnect once
        tables = _apply(_replica(), changes)
    print(f"applied {len(changes)} records: {dict(tables)}")
    return {"records": len(changes)}


def _replica() -> pg8000.native.Connection:
    global _connection
    if _connection is None:
        _known.clear()
        _connection = _connect()
    return _connection


def _connect() -> pg8000.native.Connection:
    env = os.environ
    arn = env.get("REPLICA_SECRET_ARN")
    if not arn:
        raise RuntimeError("REPLICA_SECRET_ARN (the replica's login secret) is not set")
    try:
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=arn)
    except ClientError as exc:
        raise RuntimeError(f"cannot read the replica's login secret {arn}: {exc}") from None
    login = json.loads(secret["SecretString"])
    tls = env.get("REPLICA_TLS", "require")
    if tls not in ("require", "verify", "off"):
        raise RuntimeError(f'REPLICA_TLS is "{tls}": use "require", "verify" or "off"')
    context = None if tls == "off" else ssl.create_default_context()
    if context is not None and tls == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return pg8000.native.Connection(
        login["username"],
        password=login["password"],
        host=env["REPLICA_HOST"],
        port=int(env.get("REPLICA_PORT", "5432")),
        database=env["REPLICA_DATABASE"],
        ssl_context=context,
    )


def _close() -> None:
    global _connection
    if _connection is not None:
        with contextlib.suppress(Error, OSError):
            _connection.close()
    _connection = None


def _dropped(exc: Exception) -> bool:
    if isinstance(exc, InterfaceError | OSError):  # pg8000 lets a reset socket's error through
        return True
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(fields.get("C", "")).startswith(_DROPPED)


def _apply(conn: pg8000.native.Connection, changes: list[dict[str, Any]]) -> Counter[str]:
    """Apply `changes` in one transaction; changes per table."""
    _ensure_tables(conn, changes)
    conn.run("START TRANSACTION")
    try:
        for change in changes:
            if change["op"] == "delete":
                _delete(conn, change)
            elif change["op"] in ("insert", "update"):
                _upsert(conn, change)
            else:
                raise ValueError(f"unknown op {change['op']!r} in a {change['table']} event")
        conn.run("COMMIT")
    except BaseException:
        _known.clear()  # a table or column may have gone: look again on the retry
        with contextlib.suppress(Error, OSError):
            conn.run("ROLLBACK")
        raise
    return Counter(change["table"] for change in changes)


def _ensure_tables(conn: pg8000.native.Connection, changes: list[dict[str, Any]]) -> None:
    """Create the tables and columns the changes need that the replica lacks."""
    columns: dict[str, dict[str, str]] = {}
    keys: dict[str, list[str]] = {}
    for change in changes:
        columns.setdefault(change["table"], {}).update(change["columns"])
        keys.setdefault(change["table"], list(change["keys"]))
    for table, wanted in columns.items():
        if wanted.keys() - _known.get(table, set()):
            try:
                _extend(conn, table, wanted, keys[table])
            except DatabaseError:  # another invocation created the same table or column
                _known.pop(table, None)
                _extend(conn, table, wanted, keys[table])


def _extend(
    conn: pg8000.native.Connection, table: str, columns: dict[str, str], keys: list[str]
) -> None:
    name = _ident(table)
    if table not in _known:
        defined = [f"{_ident(column)} {_type(kind)}" for column, kind in columns.items()]
        primary_key = ", ".join(map(_ident, keys))
        conn.run(
            f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(defined)}, PRIMARY KEY ({primary_key}))"
        )
        existing = conn.run(
            "SELECT attname FROM pg_attribute"
            " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped",
            t=name,
        )
        _known[table] = {row[0] for row in existing}
    for column, kind in columns.items():
        if column not in _known[table]:
            conn.run(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {_ident(column)} {_type(kind)}")
            _known[table].add(column)


def _upsert(conn: pg8000.native.Connection, change: dict[str, Any]) -> None:
    """Insert the row, or update it where the replica holds an older version."""
    table, row, types = _ident(change["table"]), change["new"], change["columns"]
    names, keys = list(row), list(change["keys"])
    values = ", ".join(f"CAST(:v{i} AS {_type(types[c])})" for i, c in enumerate(names))
    updates = ", ".join(f"{_ident(c)} = EXCLUDED.{_ident(c)}" for c in names if c not in keys)
    conn.run(
        f"INSERT INTO {table} ({', '.join(map(_ident, names))}) VALUES ({values})"
        f" ON CONFLICT ({', '.join(map(_ident, keys))}) DO UPDATE SET {updates}"
        f" WHERE {table}.version < EXCLUDED.version",
        **{f"v{i}": _text(row[c], types[c]) for i, c in enumerate(names)},
    )


def _delete(conn: pg8000.native.Connection, change: dict[str, Any]) -> None:
    """Delete the row unless the replica holds a version newer than the deleted one."""
    keys, types = change["keys"], change["columns"]
    match = " AND ".join(
        f"{_ident(k)} = CAST(:k{i} AS {_type(types[k])})" for i, k in enumerate(keys)
    )
    conn.run(
        f"DELETE FROM {_ident(change['table'])} WHERE {match}"
        f" AND version <= CAST(:version AS {_type(types['version'])})",
        version=_text(change["old"]["version"], types["version"]),
        **{f"k{i}": _text(keys[k], types[k]) for i, k in enumerate(keys)},
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type(sql_type: str) -> str:
    if not _SQL_TYPE.fullmatch(sql_type):
        raise ValueError(f"not a column type: {sql_type!r}")
    return sql_type


def _text(value: Any, sql_type: str) -> str | None:
    """A to_jsonb value as the text PostgreSQL reads back as the same value of `sql_type`."""
    if value is None:
        return None
    if sql_type in ("json", "jsonb"):
        return _json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _json(value: Any) -> str:
    """JSON text with numbers exactly as the event had them (json.dumps has no Decimal)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json, value)) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=False)
