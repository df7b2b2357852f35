"""The weekly digest: decisions, draws and elections, meetings, newcomers, participation chart."""

from scenarios.digest.kind import Digest, DigestKind

KIND = DigestKind()

__all__ = ["KIND", "Digest", "DigestKind"]
