"""The register for an annual report: CSV files (decisions, answers, elections, draws, meetings,
attendance) and the same rows as JSON, UTF-8 with a byte order mark so that LibreOffice and
spreadsheets open the accents right; in a folder or a zip.

Columns are documented in the README ("Register"). Names are those the directory gives today
(a forgotten person's pseudonym); an anonymous round has no rows in answers.csv.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.kernel.register import Entry, page_path

Table = tuple[tuple[str, ...], list[dict[str, Any]]]

DECISIONS = ("number", "version", "title", "text", "outcome", "final_outcome", "opened_at", "deadline", "closed_at",
             "anonymous", "consent", "concern", "objection", "stand_aside", "answered", "circle_size", "questions",
             "author", "election", "page")
ANSWERS = ("kind", "number", "version", "person", "organisation", "choice", "reason", "names")
ELECTIONS = ("number", "role", "outcome", "elected", "nominations", "changes", "opened_at", "closed_at", "page")
DRAWS = ("number", "role", "status", "seats", "pool", "panel", "final_panel", "declined", "seed", "ticket",
         "draw_hash", "recorded_at", "page")
MEETINGS = ("number", "title", "status", "start", "end", "place", "link", "agenda", "minutes", "present", "expected",
            "roles", "page")
ATTENDANCE = ("meeting", "title", "start", "person", "organisation", "present")


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""


def _page(base_url: str | None, kind: str, number: int) -> str:
    path = page_path(kind, number)
    return base_url.rstrip("/") + path if base_url else path


def _same(key: str) -> str:
    return key


def tables(entries: Sequence[Entry], base_url: str | None = None, name: Callable[[str], str] = _same
           ) -> dict[str, Table]:
    """Every table of the export, by file name (without its extension); `name` says who a
    member key is (a draw's record keeps keys)."""
    decisions: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    elections: list[dict[str, Any]] = []
    draws: list[dict[str, Any]] = []
    meetings: list[dict[str, Any]] = []
    attendance: list[dict[str, Any]] = []
    for e in sorted(entries, key=lambda e: (e.kind, e.ritual_kind, e.number)):
        d = e.data
        if e.kind == "decision":
            election = e.ritual_kind == "election"
            for v in e.versions:
                decisions.append({
                    "number": e.number, "version": v.version, "title": v.title, "text": v.text or "",
                    "outcome": v.outcome or "", "final_outcome": e.status, "opened_at": _iso(v.opened_at),
                    "deadline": _iso(v.deadline), "closed_at": _iso(v.closed_at), "anonymous": e.anonymous,
                    **{c: int(v.counts.get(c, 0)) for c in ("consent", "concern", "objection", "stand_aside")},
                    "answered": d.get("answered", "") if v.version == e.version else "",
                    "circle_size": d.get("circle_size", "") if v.version == e.version else "",
                    "questions": d.get("questions", 0), "author": d.get("author") or "",
                    "election": e.number if election else "",
                    "page": _page(base_url, "election" if election else "decision", e.number)})
            for a in e.answers:
                answers.append({"kind": "election" if election else "decision", "number": e.number,
                                "version": a.version, "person": a.name, "organisation": a.organisation or "",
                                "choice": a.choice, "reason": a.reason or "", "names": ""})
        elif e.kind == "election":
            elections.append({
                "number": e.number, "role": e.title, "outcome": e.status, "elected": "; ".join(e.named),
                "nominations": e.counts.get("nominations", 0), "changes": e.counts.get("changes", 0),
                "opened_at": _iso(e.opened_at), "closed_at": _iso(e.closed_at), "page": _page(base_url, "election", e.number)})
            for a in e.answers:
                answers.append({"kind": "election", "number": e.number, "version": a.version, "person": a.name,
                                "organisation": a.organisation or "", "choice": a.choice, "reason": a.reason or "",
                                "names": a.subject or ""})
        elif e.kind == "draw":
            record: Mapping[str, Any] = d.get("record") or {}
            hashes: Mapping[str, Any] = record.get("hashes") or {}
            declined = [r.get("member") for r in record.get("replacements", []) if isinstance(r, Mapping)]
            draws.append({
                "number": e.number, "role": e.title, "status": e.status, "seats": e.counts.get("seats", 0),
                "pool": e.counts.get("pool", 0), "panel": "; ".join(name(str(k)) for k in d.get("panel", [])),
                "final_panel": "; ".join(name(str(k)) for k in d.get("final_panel", [])),
                "declined": "; ".join(name(str(k)) for k in declined),
                "seed": record.get("seed") or "", "ticket": record.get("ticket", ""),
                "draw_hash": hashes.get("draw", ""), "recorded_at": _iso(e.recorded_at),
                "page": _page(base_url, "draw", e.number)})
        elif e.kind == "meeting":
            meetings.append({
                "number": e.number, "title": e.title, "status": e.status, "start": d.get("start") or _iso(e.opened_at),
                "end": d.get("end") or _iso(e.closed_at), "place": d.get("place") or "", "link": d.get("link") or "",
                "agenda": " | ".join(str(a) for a in d.get("agenda", [])), "minutes": d.get("minutes") or "",
                "present": e.counts.get("present", ""), "expected": e.counts.get("expected", ""),
                "roles": "; ".join(f"{r.get('role')}: {name(str(r.get('member')))}"
                                   for r in d.get("roles", []) if isinstance(r, Mapping)),
                "page": _page(base_url, "meeting", e.number)})
            for a in e.answers:
                attendance.append({"meeting": e.number, "title": e.title, "start": d.get("start") or "",
                                   "person": a.name, "organisation": a.organisation or "",
                                   "present": a.choice == "present"})
    return {
        "decisions": (DECISIONS, decisions), "answers": (ANSWERS, answers), "elections": (ELECTIONS, elections),
        "draws": (DRAWS, draws), "meetings": (MEETINGS, meetings), "attendance": (ATTENDANCE, attendance),
    }


def _csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()})
    # The byte order mark tells spreadsheets the file is UTF-8 (LibreOffice, Excel).
    return out.getvalue().encode("utf-8-sig")


def _json(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps(list(rows), ensure_ascii=False, indent=1).encode("utf-8")


def files(entries: Sequence[Entry], base_url: str | None = None, name: Callable[[str], str] = _same
          ) -> dict[str, bytes]:
    """File name → content: each table as `<table>.csv` and `<table>.json`."""
    out: dict[str, bytes] = {}
    for table, (columns, rows) in tables(entries, base_url, name).items():
        out[f"{table}.csv"] = _csv(columns, rows)
        out[f"{table}.json"] = _json(rows)
    return out


def write(folder: Path, contents: Mapping[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for file_name, content in contents.items():
        path = folder / file_name
        path.write_bytes(content)
        written.append(path)
    return written


def zipped(contents: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for file_name, content in contents.items():
            z.writestr(f"registre/{file_name}", content)
    return buf.getvalue()
