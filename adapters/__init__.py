"""Platform adapters: events in, actions out; no ritual logic."""
