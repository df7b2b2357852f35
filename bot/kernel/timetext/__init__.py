"""French and English dates, times and durations, as members and configs write them: the one reader every ritual uses.

- `parse_deadline`: an instant ("vendredi 18h", "demain", "dans 2 semaines", "le 14 décembre
  à 18h", "14/12 18h30", "friday 6pm", ISO 8601);
- `parse_appointment`: a date and time followed by a place and a link (a meeting);
- `parse_time_of_day`: a time of day alone ("18:00", "18h30", "6pm", "midi");
- `parse_duration`: a duration in one grammar ("1h30", "90 min", "2 semaines", "1 an",
  "PT1H", "2 weeks"), as a `Span` of calendar days and elapsed seconds.

Each raises `TimeTextError` and nothing else, whatever the text: its `reason` names the
refusal (rituals answer in their own catalogs), its `msg` is the kernel's generic answer.
Numbers are the digits 0 to 9, bounded; dates are checked against the calendar and never
repaired into other ones ("31 février", "le 31" in November are refused with what is wrong).

Our own small grammar reads what members type most, because dateparser (checked with 1.5)
misreads it: "vendredi 18h" as the 18th, "après-demain 9h" at 19:00, "dans 1h30" at 01:30
tomorrow, nothing in "mardi prochain". dateparser remains the fallback for the day of rarer
phrases ("next week"), dateutil reads ISO 8601 and places wall times (bot.kernel.localtime).
"""

from __future__ import annotations

from bot.kernel.timetext.appointments import Appointment, parse_appointment
from bot.kernel.timetext.dates import NoSuchDate
from bot.kernel.timetext.deadlines import DEFAULT_TIME, parse_deadline
from bot.kernel.timetext.durations import FARTHEST, Span, parse_duration
from bot.kernel.timetext.errors import LONGEST, Reason, TimeTextError, What
from bot.kernel.timetext.fields import ConfigDuration, config_duration
from bot.kernel.timetext.times import parse_time_of_day

__all__ = [
    "DEFAULT_TIME", "FARTHEST", "LONGEST", "Appointment", "ConfigDuration", "NoSuchDate", "Reason", "Span",
    "TimeTextError", "What", "config_duration", "parse_appointment", "parse_deadline", "parse_duration",
    "parse_time_of_day",
]  # fmt: skip
