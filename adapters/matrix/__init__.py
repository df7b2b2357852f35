"""Matrix adapter: the bot's I/O with Matrix homeservers."""
