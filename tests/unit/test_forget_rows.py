"""What forgetting rewrites, value by value: exact values only (a homonym's longer name stays),
two-word names inside a title, refs about the person, and draw records that stay verifiable
(version 2 seals the old identifier's hash; version 1 cannot, and says so)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.kernel.refs import Ref
from bot.store.forget_rows import Scrub, rewrite, rewrite_row
from scenarios.sortition.draw import plan_draw
from scenarios.sortition.pool import parse_people_csv, parse_quotas_csv
from scenarios.sortition.record import (
    FORMAT,
    FORMAT_1,
    compute_hashes,
    draw,
    new_record,
    replace,
    verify_record,
)
from scenarios.sortition.seed import Contribution, commitment_of

DATA = Path(__file__).resolve().parents[1] / "data" / "sortition"

SCRUB = Scrub(person_id=7, new_key="forgotten:3", pseudonym="membre anonymisé·e #3", keys=frozenset({"m05"}),
              names=frozenset({"Zoé Martin", "Zoé"}), accounts=frozenset({("slack", "T1", "U0ZOE"),
                                                                       ("matrix", "", "@zoe:example.org")}))


def test_exact_values_only() -> None:
    value = {"voters": ["m05", "m050", "m15"], "names": {"m05": "Zoé Martin"}, "other": "Zoé Martinez",
             "text": "Merci Zoé", "title": "Zoé Martin — trésorerie", "by": "slack:U0ZOE", "user": "@zoe:example.org",
             "dm": "dm:m05", "n": 5}
    assert rewrite(value, SCRUB) == {
        "voters": ["forgotten:3", "m050", "m15"], "names": {"forgotten:3": "membre anonymisé·e #3"},
        "other": "Zoé Martinez", "text": "Merci Zoé", "title": "membre anonymisé·e #3 — trésorerie",
        "by": "forgotten:3", "user": "forgotten:3", "dm": "dm:forgotten:3", "n": 5}


def test_refs_about_them_are_renamed() -> None:
    mine = Ref(role="accept", member="m05").encode()
    theirs = Ref(role="accept", member="m050").encode()
    assert Ref.decode(rewrite(mine, SCRUB)).member == "forgotten:3"
    assert rewrite(theirs, SCRUB) == theirs
    assert rewrite_row({"name": mine, "ref": "proposal", "n": 1}, SCRUB) == {"name": rewrite(mine, SCRUB)}


def test_identifiers_inside_platform_ids() -> None:
    assert SCRUB.names_an_account("console:m05:12") and SCRUB.names_an_account("T1:U0ZOE:C9")
    assert not SCRUB.names_an_account("$abm05x") and not SCRUB.names_an_account("m050")


def _drawn(version: str = FORMAT) -> dict[str, Any]:
    people = parse_people_csv((DATA / "pool40.csv").read_text())
    quotas = parse_quotas_csv((DATA / "quotas40.csv").read_text())
    r = new_record(plan_draw(people, quotas, 3, []), "délégué").model_copy(update={"format": version})
    r = r.model_copy(update={"hashes": compute_hashes(r)})
    contributions = [Contribution(member=m, commitment=commitment_of(s), secret=s, status="revealed")
                     for m, s in (("m05", "zèbre"), ("m07", "tournesol"))]
    r = draw(r, contributions)
    r, _ = replace(r, r.panel[0], "declined")
    data: dict[str, Any] = json.loads(r.model_dump_json())
    return data


def test_a_forgotten_member_leaves_a_version_2_draw_verifiable() -> None:
    data = _drawn()
    drawn = data["final_panel"][0]
    assert verify_record(data).ok
    for who in ("m05", drawn):  # a contributor, and a member of the final panel
        scrub = Scrub(person_id=1, new_key="forgotten:9", pseudonym="p", keys=frozenset({who}),
                      names=frozenset(), accounts=frozenset())
        after = rewrite(data, scrub)
        assert who not in json.dumps(after) and after["sealed"] == {"forgotten:9": after["sealed"]["forgotten:9"]}
        verdict = verify_record(after)
        assert verdict.ok, verdict.problems
        # The seal is what keeps it verifiable: without it, the hashes no longer match.
        assert not verify_record({**after, "sealed": {}}).ok


def test_a_version_1_record_cannot_be_verified_once_renamed() -> None:
    old = _drawn(FORMAT_1)
    assert verify_record(old).ok
    scrub = Scrub(person_id=1, new_key="forgotten:9", pseudonym="p", keys=frozenset({"m05"}),
                  names=frozenset(), accounts=frozenset())
    assert not verify_record(rewrite(old, scrub)).ok
