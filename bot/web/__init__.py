"""The bot's own web server: operations endpoints beside the network's public pages."""
