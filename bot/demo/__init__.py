"""`maillage demo`: a throwaway Matrix homeserver, the bot and scripted members playing a compressed week.

What the demo owns lives here: its clock (clock.py), its members and their Matrix clients
(members.py), the printed conversation (transcript.py), the stage they act on (stage.py), the
script of the week (week.py) and the run from start to end (session.py). The homeserver and the
start of the bot come from the command line (bot/cli/demo.py), as `hosting.Hosting`."""

from __future__ import annotations

from bot.demo.hosting import Hosting
from bot.demo.session import play_demo

__all__ = ["Hosting", "play_demo"]
