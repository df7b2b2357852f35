"""Roles and mandates: who holds which declared role, until when; renewals that start
themselves, resignations filled from a draw's reserve list, and `qui` (who does what)."""

from scenarios.mandates.kind import Mandates, MandatesKind

KIND = MandatesKind()

__all__ = ["KIND", "Mandates", "MandatesKind"]
