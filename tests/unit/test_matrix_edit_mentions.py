"""A Matrix edit never pings again: the new content keeps the message's mentions, the edit event's own are empty."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.matrix import content as mx

USER_IDS = st.lists(st.from_regex(r"@[a-z0-9._=-]{1,12}:[a-z0-9.-]{1,12}", fullmatch=True), max_size=5, unique=True)


@given(user_ids=USER_IDS, text=st.text(max_size=200), notice=st.booleans())
def test_an_edit_keeps_the_mentions_in_its_new_content_and_pings_no_one(user_ids: list[str], text: str,
                                                                       notice: bool) -> None:
    rendered = mx.Rendered(plain=text, html=text, mentions=tuple(user_ids))
    original = mx.message(rendered, notice=notice)
    assert original["m.mentions"] == ({"user_ids": user_ids} if user_ids else {})
    edited = mx.edit("$target", original)
    assert edited["m.mentions"] == {}
    assert edited["m.new_content"]["m.mentions"] == original["m.mentions"]
    assert edited["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$target"}


def test_the_edit_built_for_a_shortened_message_pings_no_one_either() -> None:
    rendered = mx.Rendered(plain="Réponses : ✅ 3 — @alice", html="Réponses : ✅ 3", mentions=("@alice:example.org",))
    note = mx.Rendered(plain="(raccourci)", html="(raccourci)")
    edited = mx.edit_message("$target", rendered, note)
    assert edited["m.mentions"] == {}
    assert edited["m.new_content"]["m.mentions"] == {"user_ids": ["@alice:example.org"]}
