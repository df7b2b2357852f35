"""The command grammar in parts (tokens, declarations, value readers, parser, help); `bot.kernel.commands` is its face."""
