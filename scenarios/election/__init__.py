"""Elections without candidates (`KIND`): nominations in private, reveal, change round,
and a consent round on the proposed person through the consent machinery."""

from __future__ import annotations

from scenarios.election.commands import COMMANDS
from scenarios.election.election import ElectionScenario
from scenarios.election.kind import Election
from scenarios.election.members import find_member
from scenarios.election.nominations import Nominations
from scenarios.election.state import ElectionConfig, ElectionState

KIND = Election()

__all__ = [
    "COMMANDS",
    "KIND",
    "Election",
    "ElectionConfig",
    "ElectionScenario",
    "ElectionState",
    "Nominations",
    "find_member",
]
