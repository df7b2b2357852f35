"""What each page of the register shows, built from the register's entries: plain values and
words for the templates, which only lay them out."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from html import escape
from typing import Any

from markupsafe import Markup

from bot.kernel.i18n import Code, Link, When
from bot.kernel.register import Entry, Version, page_path
from bot.kernel.scenario import RitualSummary
from bot.web.register.charts import Bar, bars
from bot.web.register.source import Directory
from bot.web.register.words import Words

CHOICES = ("consent", "concern", "objection", "stand_aside")
CHART_MAX = 60
"""Above this many people a draw's probabilities are a table only (a chart would be unreadable)."""


def _at(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
        return at if at.tzinfo else None
    return None


def _when(value: Any) -> When | str:
    at = _at(value)
    return When(at=at, style="short") if at is not None else "—"


def _newest(entries: Sequence[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.closed_at or e.recorded_at, e.number), reverse=True)


def index(w: Words, view: Sequence[Entry], people: Directory, open_rituals: Sequence[RitualSummary],
          now: datetime) -> dict[str, Any]:
    decisions = [e for e in view if e.kind == "decision" and e.ritual_kind == "consent"]
    pending = [r for r in open_rituals if r.kind == "consent" and r.summary.get("status") in ("questions", "answers")]
    upcoming: list[dict[str, Any]] = []
    for r in open_rituals:
        if r.kind != "meeting" or not isinstance(r.summary.get("upcoming"), list):
            continue
        for item in r.summary["upcoming"]:
            start = _at(item.get("start")) if isinstance(item, Mapping) else None
            if start is not None and start > now:
                upcoming.append({"title": str(item.get("title") or ""), "when": w.when(start),
                                 "start": start, "place": item.get("place") or ""})
    upcoming.sort(key=lambda u: u["start"])
    return {
        "pending": [{"line": w.t("index.pending_item", number=r.number, title=str(r.summary.get("title") or ""),
                                 line=w.msg("index.in_progress_line",
                                            deadline=_when(r.summary.get("deadline")),
                                            answered=int(r.summary.get("answered") or 0)))} for r in pending],
        "decisions": [{"number": e.number, "href": page_path("decision", e.number), "title": e.title,
                       "version": e.version, "outcome": w.outcome(e.status), "when": w.when(e.closed_at, "short")}
                      for e in _newest(decisions)],
        "draws": [{"number": e.number, "href": page_path("draw", e.number), "title": e.title,
                   "status": w.outcome(e.status), "people": ", ".join(e.named), "when": w.when(e.recorded_at, "short"),
                   "seats": e.counts.get("seats", 0)} for e in _newest([e for e in view if e.kind == "draw"])],
        "elections": [{"number": e.number, "href": page_path("election", e.number), "title": e.title,
                       "outcome": w.outcome(e.status), "elected": ", ".join(e.named),
                       "when": w.when(e.closed_at, "short")}
                      for e in _newest([e for e in view if e.kind == "election"])],
        "roles": [{"role": role, "people": ", ".join(names)} for role, names in people.roles()],
        "upcoming": upcoming,
        "past": [{"number": e.number, "href": page_path("meeting", e.number), "title": e.title,
                  "when": w.when(e.opened_at, "short"), "status": w.outcome(e.status),
                  "attendance": f"{e.counts['present']}/{e.counts['expected']}" if e.counts.get("expected") else "—"}
                 for e in _newest([e for e in view if e.kind == "meeting" and e.status != "scheduled"])],
    }


# --- a decision ---------------------------------------------------------------------------


def word_diff(before: str, after: str) -> Markup:
    """`after` with the words added since `before` underlined (<ins>) and those removed struck
    through (<del>)."""
    a, b = before.split(), after.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if op in ("replace", "insert"):
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
        if op == "equal":
            out.append(escape(" ".join(a[i1:i2])))
    return Markup(" ".join(out))  # every word escaped above


def _counts(w: Words, v: Version, ident: str) -> dict[str, Any]:
    counts = {c: int(v.counts.get(c, 0)) for c in CHOICES}
    total = sum(counts.values())
    rows = [{"choice": w.choice(c), "count": counts[c], "share": w.percent(counts[c], total)} for c in CHOICES]
    title = str(w.t("decision.chart", version=v.version, **counts))
    chart = bars(title, [Bar(str(w.choice(c)), counts[c], str(counts[c])) for c in CHOICES], ident)
    return {"rows": rows, "chart": chart, "caption": w.t("decision.counts", version=v.version)}


def decision(w: Words, e: Entry) -> dict[str, Any]:
    versions: list[dict[str, Any]] = []
    for i, v in enumerate(e.versions):
        previous = e.versions[i - 1] if i else None
        following = e.versions[i + 1] if i + 1 < len(e.versions) else None
        answers = [] if e.anonymous else e.answers_of(v.version)
        changes: list[Markup] = []
        if previous is not None:
            if previous.title != v.title:
                changes.append(w.t("decision.changed_title", before=previous.title, after=v.title))
            if (previous.text or "") != (v.text or "") and (previous.text or v.text):
                changes.append(w.t("decision.changed_text"))
                changes.append(word_diff(previous.text or "", v.text or ""))
            if not changes:
                changes.append(w.t("decision.unchanged"))
        objections = [{"line": w.t("decision.objection_line" if o.by else "decision.objection_line_anonymous",
                                   choice=w.msg(f"choice.{o.choice}"), by=o.by or "",
                                   reason=o.reason if o.reason else w.msg("decision.no_reason"))}
                      for o in v.objections]
        followed = None
        if objections and following is not None:
            followed = w.t("decision.answered_by", version=following.version, title=following.title)
        elif objections and e.status in ("withdrawn", "lapsed", "cancelled") and following is None:
            followed = w.t("decision.answered_end", outcome=w.outcome(e.status))
        versions.append({
            "version": v.version, "title": v.title, "text": v.text,
            "heading": w.t("decision.version", version=v.version, title=v.title),
            "dates": w.t("decision.dates", opened=w.when(v.opened_at), deadline=w.when(v.deadline),
                         closed=w.when(v.closed_at)) if v.opened_at and v.deadline
            else w.t("decision.dates_short", closed=w.when(v.closed_at)),
            "outcome": w.t("decision.version_outcome", outcome=w.outcome(v.outcome)),
            "changes": changes, "previous": previous.version if previous else None,
            "counts": _counts(w, v, f"chart-v{v.version}"),
            "objections": objections, "followed": followed,
            "who": [{"choice": w.choice(c), "names": ", ".join(a.name for a in answers if a.choice == c)}
                    for c in CHOICES if any(a.choice == c for a in answers)],
        })
    author = e.data.get("author")
    return {
        "number": e.number, "title": e.title, "anonymous": e.anonymous,
        "heading": w.t("decision.heading", number=e.number, title=e.title),
        "summary": w.t("decision.summary", outcome=w.outcome(e.status), when=w.when(e.closed_at), author=author)
        if isinstance(author, str) and author else w.t("decision.summary_no_author", outcome=w.outcome(e.status),
                                                       when=w.when(e.closed_at)),
        "questions": int(e.data.get("questions") or 0),
        "circle": w.t("decision.circle", answered=int(e.data.get("answered") or 0),
                      circle=int(e.data.get("circle_size") or 0)),
        "late": int(e.data.get("late") or 0),
        "versions": versions,
    }


# --- a draw -------------------------------------------------------------------------------


def draw(w: Words, e: Entry, people: Directory) -> dict[str, Any]:
    record: Mapping[str, Any] = e.data.get("record") or {}
    pool = [p for p in record.get("pool", []) if isinstance(p, Mapping)]
    probabilities: Mapping[str, str] = record.get("probabilities") or {}
    chances: list[dict[str, Any]] = []
    for p in pool:
        key = str(p.get("id"))
        raw = str(probabilities.get(key, "0"))
        try:
            value = Fraction(raw)
        except (ValueError, ZeroDivisionError):
            value = Fraction(0)
        chances.append({"name": people.name(key), "fraction": raw, "value": value,
                        "percent": w.percent(float(value), 1),
                        "attributes": ", ".join(f"{a} = {v}" for a, v in sorted(dict(p.get("attributes") or {}).items()))})
    chances.sort(key=lambda c: (-c["value"], c["name"].casefold()))
    chart = None
    if 0 < len(chances) <= CHART_MAX:
        chart = bars(str(w.t("draw.probability_chart")),
                     [Bar(c["name"], float(c["value"]), c["percent"]) for c in chances], "chart-probabilities")
    given = record.get("lottery")
    lottery: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    hashes: Mapping[str, Any] = record.get("hashes") or {}
    replacements = []
    for r in record.get("replacements", []):
        if isinstance(r, Mapping):
            who = people.name(str(r.get("member")))
            said = w.t("draw.no_answer" if r.get("reason") == "no_answer" else "draw.declined", who=who)
            by = people.names([str(x) for x in r.get("replaced_by", [])])
            replacements.append({"what": said, "by": w.t("draw.replaced_by", who=", ".join(by)) if by else None})
    return {
        "number": e.number, "title": e.title,
        "heading": w.t("draw.heading", number=e.number, title=e.title),
        "summary": w.t("draw.summary", seats=int(record.get("k") or e.counts.get("seats", 0)), pool=len(pool),
                       status=w.outcome(e.status)),
        "when": w.when(e.recorded_at),
        "quotas": [{"attribute": q.get("attribute"), "value": q.get("value") or "*", "min": q.get("min", 0),
                    "max": q.get("max") if q.get("max") is not None else "—"}
                   for q in record.get("quotas", []) if isinstance(q, Mapping)],
        "chances": chances, "chart": chart,
        "excluded": [w.t("draw.excluded_line", who=people.name(str(x.get("id"))), draw=x.get("draw") or "?")
                     for x in record.get("excluded", []) if isinstance(x, Mapping)],
        "hashes": [(w.t(f"draw.hash_{k}"), str(hashes.get(k))) for k in ("pool", "quotas", "lottery", "draw")
                   if hashes.get(k)],
        "contributions": [{"name": people.name(str(c.get("member"))), "commitment": c.get("commitment") or "—",
                           "status": w.t(f"draw.status_{c.get('status')}")
                           if c.get("status") in ("committed", "revealed", "missing", "given") else ""}
                          for c in record.get("contributions", []) if isinstance(c, Mapping)],
        "seed": w.t("draw.seed", seed=Code(text=str(record["seed"]))) if record.get("seed") else w.t("draw.no_seed"),
        "ticket": w.t("draw.ticket", ticket=int(record["ticket"]), size=int(lottery.get("size") or 0))
        if record.get("ticket") is not None else None,
        "panel": people.names([str(k) for k in record.get("panel", [])]),
        "replacements": replacements,
        "final": people.names([str(k) for k in record.get("final_panel", [])]),
        "record_href": page_path("draw", e.number) + ".json" if record else None,
        "verify": f"maillage draw verify tirage-{e.number}.json",
    }


# --- an election and a meeting -------------------------------------------------------------


def election(w: Words, e: Entry, round_: Entry | None, people: Directory) -> dict[str, Any]:
    def lines(choice: str, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for a in e.answers:
            if a.choice != choice:
                continue
            line = w.msg(key, by=a.name, nominee=a.subject or "?")
            out.append({"line": w.t("election.with_reason", line=line, reason=a.reason) if a.reason else w.render(line)})
        return out

    tally: list[dict[str, Any]] = []
    for t in e.data.get("tally", []):
        if isinstance(t, Mapping):
            pid = t.get("person_id")
            name = t.get("name") or (people.by_id(pid) if isinstance(pid, int) else "?")
            tally.append({"name": str(name), "count": int(t.get("count") or 0)})
    return {
        "number": e.number, "title": e.title,
        "heading": w.t("election.heading", number=e.number, title=e.title),
        "summary": w.t("election.summary", outcome=w.outcome(e.status), when=w.when(e.closed_at)),
        "nominations": lines("nomination", "election.nomination_line"),
        "changes": lines("change", "election.change_line"),
        "tally": tally,
        "chart": bars(str(w.t("election.tally_chart")), [Bar(t["name"], t["count"], str(t["count"])) for t in tally],
                      "chart-tally") if tally else None,
        "elected": w.t("election.elected", who=", ".join(e.named)) if e.named else None,
        "round": decision(w, round_) if round_ is not None else None,
    }


def _web(url: Any) -> bool:
    """A link members gave (minutes, a video room) is shown as a link only if it is one."""
    return isinstance(url, str) and url.startswith(("https://", "http://")) and not any(c.isspace() for c in url)


def meeting(w: Words, e: Entry, people: Directory) -> dict[str, Any]:
    d = e.data
    given = d.get("by_organisation")
    table: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    rows: list[dict[str, Any]] = []
    for org in sorted(table, key=lambda o: (o == "", o.casefold())):
        fig = table[org]
        if isinstance(fig, Mapping):
            present, expected = int(fig.get("present") or 0), int(fig.get("expected") or 0)
            rows.append({"org": org or str(w.t("meeting.no_organisation")), "present": present, "expected": expected,
                         "share": w.percent(present, expected)})
    status = e.status
    return {
        "number": e.number, "title": e.title,
        "heading": w.t("meeting.heading", number=e.number, title=e.title),
        "when": w.t("meeting.when", start=w.when(_at(d.get("start")) or e.opened_at),
                    end=w.when(_at(d.get("end")) or e.closed_at, "time")),
        "place": w.t("meeting.place", place=d["place"]) if isinstance(d.get("place"), str) and d["place"] else None,
        "link": w.t("meeting.link", link=Link(url=d["link"])) if _web(d.get("link")) else None,
        "status": w.t("meeting.status", status=w.outcome(status)),
        "cancelled": (w.t("meeting.cancelled_reason", reason=d["reason"]) if d.get("reason")
                      else w.t("meeting.cancelled")) if status == "cancelled" else None,
        "agenda": [a for a in d.get("agenda", []) if isinstance(a, str)],
        "minutes": w.t("meeting.minutes", link=Link(url=d["minutes"])) if _web(d.get("minutes")) else None,
        "attendance": rows,
        "total": w.t("meeting.attendance_total", present=e.counts.get("present", 0),
                     expected=e.counts.get("expected", 0)) if e.counts.get("expected") else None,
        "chart": bars(str(w.t("meeting.attendance_chart")),
                      [Bar(r["org"], r["present"], f"{r['present']}/{r['expected']}") for r in rows],
                      "chart-attendance") if rows else None,
        "roles": [{"role": str(r.get("role")), "name": people.name(str(r.get("member")))}
                  for r in d.get("roles", []) if isinstance(r, Mapping)],
        "present": w.t("meeting.present_line", names=", ".join(
            sorted((a.name for a in e.answers if a.choice == "present"), key=str.casefold)))
        if any(a.choice == "present" for a in e.answers) else None,
    }
