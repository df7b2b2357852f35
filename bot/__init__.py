"""Maillage's core: engine, store, scheduler, clock, config, i18n and the CLI."""
