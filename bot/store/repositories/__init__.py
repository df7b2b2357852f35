"""The SQL repositories: the only place with SQL, one unit of work per transaction."""

from bot.store.repositories.unit import SqlUnit

__all__ = ["SqlUnit"]
