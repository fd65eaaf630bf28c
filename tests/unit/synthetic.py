"""A small synthetic ledger following the ledger's version rules, for the checker tests."""

import random

from harness.load.ledger import ABORTED, COMMITTED, Change

TABLES = ("widgets", "gadgets")


def synthetic_ledger(changes: int = 400, seed: int = 7) -> list[Change]:
    """`changes` changes over two tables: 20 keys inserted first, then inserts of new keys
    (ids from a per-table sequence; a deleted row comes back only under a new key),
    updates and deletes of live keys, one in eight aborted. An aborted change takes the
    version the key's next committed change then takes; an aborted insert burns its id."""
    rng = random.Random(seed)
    next_id = dict.fromkeys(TABLES, 1)
    live: dict[tuple[str, str], int] = {}
    ledger: list[Change] = []
    while len(ledger) < changes:
        early = len(ledger) < 20
        op = (
            "insert"
            if early or not live
            else rng.choices(("insert", "update", "delete"), (1, 12, 1))[0]
        )
        if op == "insert":
            table = TABLES[len(ledger) % 2] if early else rng.choice(TABLES)
            entity, version = (table, str(next_id[table])), 1
            next_id[table] += 1
        else:
            entity = rng.choice(sorted(live))
            version = live[entity] + 1
        status = ABORTED if not early and rng.random() < 1 / 8 else COMMITTED
        t = 1_000_000 * len(ledger)
        ledger.append(
            Change(
                table=entity[0],
                key=entity[1],
                version=version,
                op=op,
                status=status,
                intended_ns=t,
                acked_ns=t + rng.randrange(100_000, 900_000),
                txid=len(ledger) + 1,
                digest="" if op == "delete" else f"{entity[0]}/{entity[1]}@{version}",
            )
        )
        if status == COMMITTED:
            if op == "delete":
                del live[entity]
            else:
                live[entity] = version
    return ledger
