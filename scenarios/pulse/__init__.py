"""The satisfaction pulse (« météo du réseau »): a monthly private question, anonymous results in the digest."""

from scenarios.pulse.kind import Pulse, PulseKind, PulseState

KIND = PulseKind()

__all__ = ["KIND", "Pulse", "PulseKind", "PulseState"]
