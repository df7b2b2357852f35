"""Writes tests/data/answers_0007.json: a store as the release before answers were rows left it
(revision 0007), and what happened next on that release (`tests/data/answers_month.py`).

Run from a checkout of that release (commit 7a86c5b, whose only trace of 0008 is an empty
answers table: the dump leaves it out and says 0007), with this file and answers_month.py
copied into its tests/data/:  python tests/data/make_answers_0007.py OUT.json
The outbox's sent entries are left out (done; the console's transcript keeps what they said)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.data.answers_month import CONFIG, START, after_snapshot, before_snapshot
from tests.harness import Harness

LEFT_OUT = {"alembic_version", "answers"}


def dump(db: Path) -> dict[str, list[dict[str, object]]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out = {n: [dict(r) for r in con.execute(f'SELECT * FROM "{n}" ORDER BY rowid')]
           for n in names if n not in LEFT_OUT and not n.startswith("sqlite_")}
    # Entries already sent are done: what they said is in the transcript.
    out["outbox"] = [r for r in out["outbox"] if r["status"] != "sent"]
    con.close()
    return out


async def month() -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "store.db"
    async with Harness(CONFIG, f"sqlite+aiosqlite:///{db}", START, tmp) as h:
        ids = await before_snapshot(h)
        tables = dump(db)
        transcript = (tmp / "transcript.jsonl").read_text(encoding="utf-8")
        outcome = await after_snapshot(h, ids)
    return {"release": "7a86c5b", "revision": "0007", "ids": ids, "tables": tables, "transcript": transcript,
            "after": {"answers": outcome.answers, "posts": outcome.posts, "records": outcome.records}}


if __name__ == "__main__":
    data = asyncio.run(month())
    Path(sys.argv[1]).write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
