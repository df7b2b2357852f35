"""The date poll: slots proposed by an animateur, answered oui / si besoin / non, the best one becomes a meeting."""

from scenarios.datepoll.kind import DatePoll, DatePollKind
from scenarios.datepoll.state import DatePollState

KIND = DatePollKind()

__all__ = ["KIND", "DatePoll", "DatePollKind", "DatePollState"]
