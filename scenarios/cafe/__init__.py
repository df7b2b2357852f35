"""The café-réseau: opted-in members paired each month across organisations, introduced privately."""

from scenarios.cafe.kind import Cafe, CafeKind, CafeState

KIND = CafeKind()

__all__ = ["KIND", "Cafe", "CafeKind", "CafeState"]
