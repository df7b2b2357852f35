"""Several workspaces: OAuth installs kept in the bot's database, one token per workspace, rotation, uninstall."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.adapter import Outgoing, PermanentError
from bot.kernel.i18n import Msg
from bot.kernel.model import InboundCommand, Post
from bot.store import open_store
from tests.fakes.slack_fake import FakeSlack, signed_event
from tests.integration.test_slack_adapter_kit import SECRET, Rig, rig

NORD, SUD = "T0NORD", "T0SUD"
NORD_TOKEN, SUD_TOKEN = "xoxb-nord-1", "xoxb-sud-1"
NORD_CHANNEL, SUD_CHANNEL = "C0NORD", "C0SUD"


def codes(fake: FakeSlack) -> None:
    fake.add_oauth_code(
        "code-nord", NORD, NORD_TOKEN, team_name="Réseau Nord", bot_user_id="U0BOTNORD"
    )
    # The southern workspace turned token rotation on: its tokens expire and are refreshed.
    fake.add_oauth_code(
        "code-sud",
        SUD,
        SUD_TOKEN,
        team_name="Réseau Sud",
        bot_user_id="U0BOTSUD",
        refresh_token="xoxe-1-sud-refresh",
        expires_in=3600,
    )


def populate_after_install(fake: FakeSlack, *teams: str) -> None:
    if NORD in teams:
        fake.add_user(NORD, "U0ANNE", name="anne")
        fake.add_channel(NORD, NORD_CHANNEL, ["U0ANNE"], name="nord")
    if SUD in teams:
        fake.add_user(SUD, "U0SAM", name="sam")
        fake.add_channel(SUD, SUD_CHANNEL, ["U0SAM"], name="sud")


async def install(r: Rig, code: str) -> None:
    """The OAuth flow as a browser does it: install page (state cookie), then Slack's redirect."""
    async with r.http.get(r.url + "/slack/install") as resp:
        assert resp.status == 200
        page = await resp.text()
        cookie = resp.headers.getall("Set-Cookie")[0].split(";")[0]
    state = re.search(r"state=([0-9a-f-]+)", page)
    assert state is not None and "client_id=" in page
    async with r.http.get(
        r.url + "/slack/oauth_redirect",
        params={"code": code, "state": state.group(1)},
        headers={"Cookie": cookie},
    ) as resp:
        assert resp.status == 200, await resp.text()


def post(channel: str, key: str) -> Outgoing:
    return Outgoing(
        action=Post(channel="x", text=Msg("core.help.command_word", fr="Bonjour", en="Hello")),
        key=key,
        channel=channel,
    )


async def test_two_workspaces_each_answered_with_its_own_token(
    tmp_path: Path, store_url: str
) -> None:
    """On SQLite and PostgreSQL: the installs live in the bot's own database."""
    store = await open_store(store_url)
    try:
        async with rig(
            tmp_path, setup=codes, oauth=True, store=store, channel_teams={NORD_CHANNEL: NORD}
        ) as r:
            await install(r, "code-nord")
            await install(r, "code-sud")
            populate_after_install(r.fake, NORD, SUD)
            assert [c.params.get("code") for c in r.fake.calls_to("oauth.v2.access")] == [
                "code-nord",
                "code-sud",
            ]

            # Inbound: the southern workspace's event is authorised with the southern token.
            before = len(r.fake.calls)
            event = r.fake.event_callback(
                SUD, r.fake.user_message(SUD, SUD_CHANNEL, "U0SAM", "!reseau aide")
            )
            status, _, _ = await r.send(signed_event(event, SECRET))
            assert status == 200
            (command,) = r.sink.events
            assert isinstance(command, InboundCommand) and command.account_scope == SUD
            checks = [c for c in r.fake.calls[before:] if c.method == "auth.test"]
            assert checks and {c.team_id for c in checks} == {SUD}

            # Outbound: each channel's workspace (configured for Nord, learned for Sud).
            await r.adapter.perform(post(NORD_CHANNEL, "k-nord"))
            await r.adapter.perform(post(SUD_CHANNEL, "k-sud"))
            (nord_post,) = r.fake.calls_to("chat.postMessage", team_id=NORD)
            (sud_post,) = r.fake.calls_to("chat.postMessage", team_id=SUD)
            assert nord_post.token == NORD_TOKEN and nord_post.ok
            # The southern token was due for rotation: refreshed, saved, then used.
            refresh = [
                c
                for c in r.fake.calls_to("oauth.v2.access")
                if c.params.get("grant_type") == "refresh_token"
            ]
            assert refresh and refresh[0].params["refresh_token"] == "xoxe-1-sud-refresh"
            assert (
                sud_post.ok
                and sud_post.token != SUD_TOKEN
                and str(sud_post.token).startswith("xoxe.xoxb-")
            )
            saved = await r.adapter.workspaces.installations.async_find_installation(  # type: ignore[union-attr]
                enterprise_id=None, team_id=SUD
            )
            assert saved is not None and saved.bot_token == sud_post.token
            assert r.fake.errors == []
    finally:
        await store.close()


async def test_uninstall_forgets_the_workspace(tmp_path: Path) -> None:
    async with rig(tmp_path, setup=codes, oauth=True, channel_teams={NORD_CHANNEL: NORD}) as r:
        await install(r, "code-nord")
        populate_after_install(r.fake, NORD)
        await r.adapter.perform(post(NORD_CHANNEL, "k-1"))
        r.fake.revoke_token(NORD_TOKEN)
        body = r.fake.event_callback(NORD, {"type": "app_uninstalled"})
        status, _, _ = await r.send(signed_event(body, SECRET))
        assert status == 200
        with pytest.raises(PermanentError, match="not installed"):
            await r.adapter.perform(post(NORD_CHANNEL, "k-2"))
        assert len(r.fake.calls_to("chat.postMessage")) == 1
