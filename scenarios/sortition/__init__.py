"""Sortition of representatives: leximin-fair, with quotas and rotation, verifiable."""

from scenarios.sortition.ritual import DrawKind

KIND = DrawKind()

__all__ = ["KIND", "DrawKind"]
