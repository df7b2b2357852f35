"""The script of the demo's week: a consent round, a draw, a meeting's reminders and the weekly digest, played by the members."""

from __future__ import annotations

from bot.demo.stage import Stage
from bot.demo.transcript import poll_answers


async def play(stage: Stage) -> None:
    """Monday to Friday, each ritual answered the ways members answer it."""
    # Monday: a consent round, answered by poll, by reaction and in the thread.
    await stage.at(0, 9, 30)
    await stage.says("alice", stage.t("demo.script.decision"))
    await stage.settle()
    proposal = stage.last_poll(stage.t("demo.script.decision_marker"), stage.room)
    await stage.at(0, 11, 0)
    await stage.says("david", stage.t("demo.script.question"), thread=proposal[1].event_id)
    await stage.settle()
    await stage.says("alice", stage.t("demo.script.answer"), thread=proposal[1].event_id)
    await stage.settle()
    await stage.at(1, 10, 0)
    await stage.votes("bruno", proposal, "consent")
    await stage.votes("david", proposal, "consent")
    await stage.reacts("chloe", proposal[1].event_id, "⚠️")
    await stage.says("chloe", stage.t("demo.script.concern"), thread=proposal[1].event_id)
    await stage.settle()

    # Tuesday: a draw, with a seed no single person controls.
    await stage.at(1, 14, 0)
    await stage.says("alice", stage.t("demo.script.draw"))
    await stage.settle()
    # A single action is a reaction to click (🎲), not a one-answer poll.
    announce = stage.last_message(stage.t("demo.script.draw_marker"))
    for key in ("bruno", "chloe"):
        secret = stage.t(f"demo.script.secret_{key}")
        await stage.reacts(key, announce, "🎲")
        await stage.settle()
        dm = stage.dms.get(key, [])
        if dm:
            await stage.says(key, secret, room=dm[-1][0])
            await stage.settle()
    await stage.at(1, 16, 0)
    await stage.says("alice", stage.t("demo.script.close_draw"))
    await stage.settle()
    await accept_draws(stage)

    # Wednesday and Thursday: the meeting's one message, edited as it nears, with RSVPs as
    # reactions (the message is edited: a poll would not be, once voted on).
    await stage.at(2, 18, 30)
    meeting = stage.last_message(stage.t("demo.script.meeting"))
    for key, emoji in (("bruno", "✅"), ("chloe", "✅"), ("david", "🤔")):
        await stage.reacts(key, meeting, emoji)
    await stage.settle()
    await stage.at(3, 17, 30)
    await stage.settle()

    # Friday: the round closes, everyone has answered; the weekly digest.
    await stage.at(4, 9, 0)
    await stage.votes("alice", proposal, "consent")
    await stage.settle()
    await stage.at(4, 17, 30)
    await stage.settle()


async def accept_draws(stage: Stage) -> None:
    """Those drawn say yes in their direct conversation with the bot."""
    for key in list(stage.members):
        for room_id, event in stage.dms.get(key, []):
            answers = dict(poll_answers(event))
            if "accept" in answers and event.event_id not in stage.answered:
                await stage.votes(key, (room_id, event), "accept")
                stage.answered.add(event.event_id)
    await stage.settle()
