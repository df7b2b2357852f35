"""The Slack adapter: Bolt listeners that commit, ack and translate; outbound actions through the Web API."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.response import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import ACTION_PREFIX, FORM_CALLBACK_PREFIX, read_submission
from adapters.slack.errors import slack_call
from adapters.slack.forms import Texts
from adapters.slack.http import SlackHttp
from adapters.slack.inbound import Translator, team_of
from adapters.slack.sender import ReplyHandles, Sender
from adapters.slack.settings import SlackSettings
from adapters.slack.socket import CheckedSocketModeHandler
from adapters.slack.workspaces import Workspaces
from bot.adapter import (
    ChannelMember,
    Delivery,
    EventSink,
    KeyValue,
    Outgoing,
    PermanentError,
    SqlTables,
)
from bot.config import Config
from bot.kernel.i18n import Msg, render_plain
from bot.kernel.model import InboundEvent
from bot.kernel.scenario import Capabilities

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    buttons=True,
    polls=False,
    reactions=True,
    threads=True,
    edits=True,
    ephemeral=True,
    images=True,
    forms=True,
    mentions=True,
)

ACK_BUDGET_S = 2.0
"""How long a listener waits for the store to commit before answering Slack, which gives
up at 3 s; the rest of the budget is Bolt's own work and the network."""

TEAMS_NS = "slack.team"
"""Channel or user id → team id, learned from inbound events (to pick the token to send with)."""

_EVENT_TYPES = (
    "message",
    "reaction_added",
    "reaction_removed",
    "member_joined_channel",
    "member_left_channel",
)


@dataclass(frozen=True)
class _Commit:
    state: Literal["new", "duplicate", "failed", "late"]
    task: asyncio.Future[bool]

    @property
    def committed(self) -> bool:
        return self.state in ("new", "duplicate")


def _quiet(name: str) -> logging.Logger:
    """Bolt and the Socket Mode client log payloads at DEBUG (tokens among them): their
    loggers stay at INFO."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger


class SlackAdapter:
    """Socket Mode (default: no public URL) or HTTP mode; one workspace by bot token, or
    several installed through OAuth. Listeners never run ritual logic: they translate the
    payload, hand it to the engine's sink, and acknowledge once it is committed."""

    platform = "slack"
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: SlackSettings,
        kv: KeyValue,
        *,
        tables: SqlTables | None = None,
        fault: str | None = None,
    ) -> None:
        self.settings = settings
        self.kv = kv
        self.workspaces = Workspaces(settings, tables)
        self.handles = ReplyHandles()
        # `fault`: the crash tests' kill point (`slack_after_post`), never set in production.
        self.sender = Sender(self.workspaces, kv, self.handles, fault)
        self.translator = Translator(settings.command_prefix)
        self._texts = Texts(settings.locale, lambda m: render_plain(m, settings.locale))
        self._sink: EventSink | None = None
        self._app: AsyncApp | None = None
        self._socket: CheckedSocketModeHandler | None = None
        self._http: SlackHttp | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._teams: dict[str, str] = dict(settings.channel_teams)
        self._running = False

    @classmethod
    def from_config(
        cls,
        config: Config,
        kv: KeyValue,
        *,
        tables: SqlTables | None = None,
        fault: str | None = None,
    ) -> SlackAdapter:
        return cls(SlackSettings.from_config(config), kv, tables=tables, fault=fault)

    # -- lifecycle --------------------------------------------------------------------

    @property
    def app(self) -> AsyncApp:
        """The Bolt app (tests dispatch signed requests to it in-process)."""
        if self._app is None:
            raise RuntimeError("the Slack adapter is not started")
        return self._app

    @property
    def http(self) -> SlackHttp | None:
        return self._http

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        self._running = True
        log.info(
            "Slack adapter started (%s mode, %s)",
            self.settings.mode,
            "several workspaces" if self.settings.multi_workspace else "one workspace",
        )

    async def _start(self) -> None:
        await self.workspaces.setup()
        options = self.workspaces.bolt_options()
        self._app = self._build_app(options)
        if self.settings.serves_http:
            flow = options.get("oauth_flow")
            self._http = SlackHttp(
                self._app,
                self.settings.http_host,
                self.settings.http_port,
                self.health,
                events=self.settings.mode == "http",
                oauth=flow if isinstance(flow, AsyncOAuthFlow) else None,
                signing_secret=self.settings.signing_secret,
            )
            await self._http.start()
        if self.settings.mode == "socket":
            if not self.settings.app_token:
                raise PermanentError("Socket Mode needs an app-level token (xapp-…)")
            self._socket = CheckedSocketModeHandler(
                self._app,
                app_token=self.settings.app_token,
                logger=_quiet("adapters.slack.socket"),
                web_client=self.workspaces.base,
            )
            async with slack_call("apps.connections.open"):
                await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        self._running = False
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._http is not None:
            await self._http.stop()
            self._http = None
        # Commits still running belong to the engine and finish on their own; follow-ups
        # (error notes after a late commit) are cancelled with the adapter.
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def connected(self) -> bool:
        if not self._running:
            return False
        if self._socket is not None:
            client = self._socket.client
            session = client.current_session
            return (
                not client.closed
                and not client.stale
                and session is not None
                and not session.closed
            )
        return self._http is not None

    def health(self) -> Mapping[str, Any]:
        return {"ok": self.connected(), "platform": "slack", "mode": self.settings.mode}

    # -- outbound ---------------------------------------------------------------------

    async def perform(self, out: Outgoing) -> Delivery:
        return await self.sender.perform(out, await self._team_for(out))

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        client = await self.workspaces.client(await self._team_of_id(channel))
        ids: list[str] = []
        cursor: str | None = None
        while True:
            async with slack_call("conversations.members"):
                resp = await client.conversations_members(channel=channel, limit=200, cursor=cursor)
            ids.extend(str(u) for u in resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        gate = asyncio.Semaphore(8)

        async def one(user_id: str) -> ChannelMember:
            async with gate, slack_call("users.info"):
                user = (await client.users_info(user=user_id)).get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or user.get("real_name")
                or user.get("name")
            )
            return ChannelMember(
                user_id, name or None, bool(user.get("is_bot")) or user_id == "USLACKBOT"
            )

        return list(await asyncio.gather(*(one(u) for u in ids)))

    async def _team_for(self, out: Outgoing) -> str | None:
        if not self.settings.multi_workspace:
            return self.workspaces.team_id
        team = out.reply_handle.get("team_id")
        if team:
            return team
        for ident in (out.channel, out.recipient):
            if ident:
                found = await self._team_of_id(ident)
                if found:
                    return found
        return None

    async def _team_of_id(self, ident: str) -> str | None:
        if not self.settings.multi_workspace:
            return self.workspaces.team_id
        team = self._teams.get(ident)
        if team is None:
            stored = await self.kv.get(TEAMS_NS, ident)
            if isinstance(stored, str):
                team = self._teams[ident] = stored
        return team

    def _learn(self, team: str, *idents: str | None) -> None:
        """Remember which workspace a channel or user belongs to: outbound actions carry
        platform ids only, and each workspace has its own token."""
        if not team or not self.settings.multi_workspace:
            return
        for ident in idents:
            if ident and self._teams.get(ident) != team:
                self._teams[ident] = team
                self._spawn(self.kv.put(TEAMS_NS, ident, team))

    # -- inbound ----------------------------------------------------------------------

    def _build_app(self, options: Mapping[str, Any]) -> AsyncApp:
        app = AsyncApp(
            name="maillage",
            logger=_quiet("adapters.slack.bolt"),
            # Listeners answer after the commit (an event is committed before it is acked);
            # they are quick because the ritual's work happens later, from the store.
            process_before_response=True,
            signing_secret=self.settings.signing_secret or "",
            **options,
        )
        app.command(self.settings.slash_command)(self._on_command)
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_button)
        app.action(re.compile(".*"))(self._ack_only)
        app.view(re.compile("^" + re.escape(FORM_CALLBACK_PREFIX)))(self._on_submission)
        app.view(re.compile(".*"))(self._ack_only)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_tokens_revoked)
        for kind in _EVENT_TYPES:
            app.event(kind)(self._on_event)
        # Anything else the app is subscribed to is acked, or Slack would keep retrying it
        # (and Bolt would log each unhandled request with its payload).
        app.event(re.compile(".*"))(self._ack_only)
        app.command(re.compile(".*"))(self._ack_only)
        app.shortcut(re.compile(".*"))(self._ack_only)
        app.options(re.compile(".*"))(self._ack_only)
        return app

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack background task failed", exc_info=task.exception())

    async def _commit(self, event: InboundEvent) -> _Commit:
        """Hand the event to the engine and wait for its commit, within the ack budget."""
        if self._sink is None:
            raise RuntimeError("the Slack adapter is not started")
        task: asyncio.Future[bool] = asyncio.ensure_future(self._sink(event))
        try:
            # shield: past the budget the commit goes on; only our waiting stops.
            new = await asyncio.wait_for(asyncio.shield(task), ACK_BUDGET_S)
        except TimeoutError:
            log.warning(
                "commit of %s %s is slow: answering Slack before it ends",
                event.kind,
                event.event_id,
            )
            task.add_done_callback(self._late_outcome)
            return _Commit("late", task)
        except Exception:
            log.exception("could not commit %s %s", event.kind, event.event_id)
            return _Commit("failed", task)
        return _Commit("new" if new else "duplicate", task)

    @staticmethod
    def _late_outcome(task: asyncio.Future[bool]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("a late commit failed", exc_info=task.exception())

    def _failed_text(self) -> str:
        return self._texts(Msg("core.cmd.failed"))

    async def _tell(self, response_url: str | None, text: str) -> None:
        if response_url:
            await AsyncWebhookClient(response_url).send_dict(
                {"response_type": "ephemeral", "replace_original": False, "text": text}
            )

    def _when_late(self, commit: _Commit, response_url: str | None) -> None:
        """A late commit that finally fails is told to the member (it was already acked)."""

        async def watch() -> None:
            try:
                await commit.task
            except Exception:
                await self._tell(response_url, self._failed_text())

        self._spawn(watch())

    async def _ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def _on_event(
        self, body: dict[str, Any], ack: AsyncAck, context: AsyncBoltContext
    ) -> BoltResponse | None:
        event = self.translator.event(body, context.bot_user_id)
        if event is None:
            await ack()
            return None
        self._learn(event.account_scope, event.channel, event.sender)
        commit = await self._commit(event)
        if commit.committed:
            await ack()
            return None
        # Not committed (yet): no ack, so Slack delivers the event again; the retry is
        # deduplicated by its event_id if this commit lands meanwhile.
        return BoltResponse(status=503, body="")

    async def _on_command(self, body: dict[str, Any], ack: AsyncAck) -> None:
        event = self.translator.slash_command(body)
        team = event.account_scope
        self._learn(team, event.channel, event.sender)
        self.handles.remember(
            team, event.sender, event.channel, body.get("trigger_id"), body.get("response_url")
        )
        commit = await self._commit(event)
        if commit.state == "failed":
            # Slack never retries a command: the member is told to type it again.
            await ack(text=self._failed_text())
            return
        if commit.state == "late":
            self._when_late(commit, body.get("response_url"))
        await ack()

    async def _on_button(self, body: dict[str, Any], ack: AsyncAck) -> None:
        event = self.translator.button(body)
        user = (body.get("user") or {}).get("id")
        team = team_of(body)
        if event is None or not user:
            await ack()
            return
        self._learn(team, event.channel, user)
        self.handles.remember(
            team,
            user,
            event.channel,
            body.get("trigger_id"),
            body.get("response_url"),
            message_ts=event.target,
        )
        commit = await self._commit(event)
        await ack()
        if commit.state == "failed":
            self._spawn(self._tell(body.get("response_url"), self._failed_text()))
        elif commit.state == "late":
            self._when_late(commit, body.get("response_url"))

    async def _on_submission(self, body: dict[str, Any], ack: AsyncAck) -> None:
        submission = read_submission(body.get("view") or {})
        if submission is None:
            await ack()
            return
        if submission.missing:
            required = self._texts("slack.form.required")
            await ack(response_action="errors", errors={b: required for b in submission.missing})
            return
        event = self.translator.submission(body, submission)
        self._learn(event.account_scope, event.sender)
        commit = await self._commit(event)
        if commit.state == "failed" and submission.first_block:
            # The modal stays open with the member's text: they can submit it again.
            await ack(
                response_action="errors", errors={submission.first_block: self._failed_text()}
            )
            return
        await ack()

    async def _on_uninstalled(self, body: dict[str, Any], ack: AsyncAck) -> None:
        team = str(body.get("team_id") or "")
        if team:
            await self.workspaces.forget(team)
        await ack()

    async def _on_tokens_revoked(self, body: dict[str, Any], ack: AsyncAck) -> None:
        tokens = (body.get("event") or {}).get("tokens") or {}
        team = str(body.get("team_id") or "")
        if team and tokens.get("bot"):
            await self.workspaces.forget(team)
        await ack()


def build(
    config: Config, kv: KeyValue, tables: SqlTables | None = None, *, fault: str | None = None
) -> SlackAdapter:
    """The composition root's entry point: the adapter for the config's `[slack]` section,
    keeping its state in the bot's own store (sends in `kv`, OAuth installs in `tables`)."""
    return SlackAdapter.from_config(config, kv, tables=tables, fault=fault)
