"""Welcome of newcomers: a greeting with the charter, who does what, and the next meeting."""

from scenarios.welcome.kind import Welcome, WelcomeKind

KIND = WelcomeKind()

__all__ = ["KIND", "Welcome", "WelcomeKind"]
