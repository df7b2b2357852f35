"""Meetings: recurring series and one-offs, reminders, RSVP, agenda, attendance, .ics export."""

from scenarios.meeting.kind import MeetingKind, Meetings

KIND = MeetingKind()

__all__ = ["KIND", "MeetingKind", "Meetings"]
