"""The kernel: what rituals are written with (events, actions, the scenario protocol, the command
grammar, messages, dates and times). Scenarios import only from here; it imports nothing above it."""
