"""Slack adapter: Bolt (Socket Mode or HTTP) in, Web API out, one or several workspaces."""
