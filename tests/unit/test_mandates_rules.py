"""The rules of roles and mandates, apart from any store: when a term ends, what counts as terms
in a row, which role a typed name means, the first free seat, and a renewal as the role says it
(who is left out and why, the draw or election it starts, the words the animateurs read)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.engine.mandates import first_free
from bot.kernel.i18n import Renderer
from bot.kernel.mandates import Mandate, MandatesView, QuotaSpec, RoleSpec, find_role
from bot.kernel.model import Member
from bot.kernel.scenario import ChannelInfo, Context, Directory, NetworkInfo
from scenarios.mandates.renewal import plan, proposal
from scenarios.mandates.who import lines, organisations_without_role

PARIS = ZoneInfo("Europe/Paris")
ROLE = "délégué·e au comité régional"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=PARIS)


def term(n: int, who: str, start: datetime, end: datetime, **kw: object) -> Mandate:
    return Mandate(id=n, role=ROLE, member=who, name=who.capitalize(), organisation=f"Org {who}", how="draw",
                   chosen_at=start, started_at=start, ends_at=end, ritual_number=n, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "start", "end"), [
    (365, at(2027, 1, 5), at(2028, 1, 5)),
    (365, at(2028, 2, 29), at(2029, 2, 28)),  # no 29 February next year
    (730, at(2027, 3, 27, 18), at(2029, 3, 27, 18)),  # across the clocks changing: the same wall time
    (180, at(2027, 3, 1), at(2027, 8, 28)),  # not whole years: days on the calendar
])
def test_a_term_ends_on_the_calendar(days: int, start: datetime, end: datetime) -> None:
    assert RoleSpec(ROLE, term=timedelta(days=days)).end_of_term(start, PARIS) == end


def test_terms_in_a_row() -> None:
    view = MandatesView(mandates=(
        term(1, "ana", at(2025, 1, 5), at(2026, 1, 5), status="ended", ended_at=at(2026, 1, 5), why="replaced"),
        term(2, "ana", at(2026, 1, 5), at(2027, 1, 5)),
        term(3, "bea", at(2024, 1, 5), at(2025, 1, 5), status="ended", ended_at=at(2025, 1, 5), why="term"),
        term(4, "bea", at(2025, 3, 1), at(2026, 3, 1)),  # two months after: not in a row
        # A seat offered and declined, and a term ended before it began, were never held.
        term(5, "cid", at(2026, 1, 5), at(2027, 1, 5), status="ended", ended_at=at(2025, 12, 1), why="over_limit"),
        term(6, "cid", at(2025, 1, 5), at(2026, 1, 5), status="offered"),
    ))
    assert view.consecutive(ROLE, "ana", at(2027, 1, 5)) == 2
    assert view.consecutive(ROLE, "ana", at(2026, 6, 1)) == 2
    assert view.consecutive(ROLE, "bea", at(2026, 3, 1)) == 1
    assert view.consecutive(ROLE, "cid", at(2027, 1, 5)) == 0


def test_which_role_a_typed_name_means() -> None:
    roles = {r: RoleSpec(r) for r in (ROLE, "délégué·e au conseil", "trésorerie")}
    assert find_role("Délégué au comité régional", roles) is roles[ROLE]
    assert find_role("déléguée au comité régional", roles) is None  # one word, written otherwise
    assert find_role("délégué·e au comité", roles) is roles[ROLE]  # the only one it starts
    assert find_role("délégué·e au comité", roles, prefix=False) is None  # a draw's title, `role donner`
    assert find_role("délégué", roles) is None  # two start so: which one is not guessed
    assert find_role("TRESORERIE", roles) is roles["trésorerie"]
    assert find_role("  ", roles) is None


def test_a_new_mandate_takes_the_first_seat_that_frees() -> None:
    now = at(2027, 12, 10)
    seats = [(at(2027, 1, 5), at(2028, 1, 5)), (at(2027, 6, 1), at(2028, 6, 1))]
    assert first_free(seats, 3, now) == now
    assert first_free(seats, 2, now) == at(2028, 1, 5)
    assert first_free([*seats, (at(2028, 1, 5), at(2029, 1, 5))], 2, now) == at(2028, 6, 1)


def context(view: MandatesView, people: list[str]) -> Context:
    members = {k: Member(key=k, name=k.capitalize(), account=f"console:{k}", organisation=f"Org {k}")
               for k in people}
    return Context(network=NetworkInfo(name="Réseau", locale="fr", timezone="Europe/Paris",
                                       roles={"animateur": ["ana"]}),
                   directory=Directory(members=members, channel_members={"general": sorted(members)}),
                   channels={"general": ChannelInfo("general", "Général", "console")}, mandates=view)


def test_a_draw_renewal_leaves_out_who_reached_the_limit_and_who_keeps_a_seat() -> None:
    spec = RoleSpec(ROLE, seats=2, renew_by="tirage", pool="general", max_consecutive=1,
                    quotas=(QuotaSpec("territoire", None, 0, 1),))
    view = MandatesView(roles={ROLE: spec}, mandates=(
        term(1, "ana", at(2027, 1, 5), at(2028, 1, 5)),  # ends within the notice
        term(2, "bea", at(2027, 6, 1), at(2028, 6, 1)),  # goes on
    ))
    ctx = context(view, ["ana", "bea", "cid", "dan"])
    p = plan(ctx, view, spec, at(2027, 12, 10))
    assert (p.seats, p.starts, [m.member for m in p.ending]) == (1, at(2028, 1, 5), ["ana"])
    assert (p.excluded, p.continuing, p.eligible, p.has_candidates) == (("ana",), ("bea",), ["cid", "dan"], True)
    start = p.start("ana")
    assert (start.kind, start.by, start.channel) == ("draw", "ana", "general")
    assert start.params == {"k": 1, "role": ROLE, "rotation": 0, "pool": "general",
                            "exclude": [{"id": "ana", "reason": "max_consecutive"}, {"id": "bea", "reason": "holds_seat"}],
                            "quotas": [{"attribute": "territoire", "value": None, "min": 0, "max": 1}]}
    said = Renderer("fr", PARIS)(proposal(ctx, p)).replace("\u00a0", " ").replace("\u202f", " ")
    assert said == ("Proposition : tirer au sort 1 personne parmi #Général, avec ces quotas : chaque territoire : "
                    "au plus 1.\nNe peuvent pas être choisi·es cette fois (1 mandat de suite au plus) : Ana.")
    # Before the notice, nothing is to renew; an animateur who asks renews the next terms to end.
    assert plan(ctx, view, spec, at(2027, 9, 1)).seats == 0
    assert [m.member for m in plan(ctx, view, spec, at(2027, 9, 1), asked=True).ending] == ["ana"]
    # Too few left to draw from: no draw is proposed.
    assert not plan(context(view, ["ana", "bea"]), view, spec, at(2027, 12, 10)).has_candidates


def test_an_election_renewal_and_who_does_what() -> None:
    spec = RoleSpec("coordination", renew_by="election", group="bureau")
    view = MandatesView(roles={"coordination": spec})
    ctx = context(view, ["ana", "bea"])
    p = plan(ctx, view, spec, at(2027, 1, 5))
    assert p.seats == 1
    assert p.start("ana").model_dump() == {"action": "start_ritual", "kind": "election", "by": "ana",
                                           "channel": "general", "params": {"role": "coordination",
                                                                            "group": "bureau"}}
    render = Renderer("fr", PARIS)
    shown = [render(m) for m in lines(view, {"animateur": ["ana"]}, ctx.directory, at(2027, 1, 5))]
    assert [s.replace("\u00a0", " ") for s in shown] == ["• coordination : 1 siège vacant", "• animation : Ana"]
    assert organisations_without_role(view, {"animateur": ["ana"]}, ctx.directory, at(2027, 1, 5)) == ["Org bea"]
