"""Loopback fakes of external platforms (Slack) used by the integration and end-to-end tests."""
