"""Rituals' states this process saved, kept in memory so that reading them back costs no validation."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.engine.tx import Ritual
from bot.store.rows import RitualSave

KEEP = 1024
"""At most this many states kept (the rituals most recently saved): one per open ritual that
moves, a few hundred for a large network."""


class SavedStates:
    """Ritual id → (version, the JSON the engine wrote, the model it dumped).

    A state read from the store is taken from here only when the stored row is exactly what
    this process wrote (same version, same JSON): another process's write, a commit that
    failed or a rollback all leave a row that differs, and the state is validated again. An
    entry is handed to one transaction only (taken, not read): the model is then that
    transaction's, and if it ends without saving the ritual the next one validates."""

    def __init__(self, size: int = KEEP) -> None:
        self.size = size
        self._saved: OrderedDict[int, tuple[int, dict[str, Any], BaseModel]] = OrderedDict()

    def put(self, ritual_id: int, version: int, dumped: dict[str, Any], state: BaseModel) -> None:
        self._saved[ritual_id] = (version, dumped, state)
        self._saved.move_to_end(ritual_id)
        while len(self._saved) > self.size:
            self._saved.popitem(last=False)

    def take(self, ritual_id: int, version: int, stored: dict[str, Any]) -> BaseModel | None:
        """The model saved for this row, if the row is what was saved; None: validate it."""
        kept = self._saved.pop(ritual_id, None)
        if kept is None or kept[0] != version or kept[1] != stored:
            return None
        return kept[2]

    def forget(self) -> None:
        self._saved.clear()


@dataclass
class KeptRitual(Ritual):
    """A ritual whose saved state is remembered (`SavedStates`) once the transaction writes it."""

    states: SavedStates | None = field(default=None, repr=False, compare=False)

    def save(self) -> RitualSave:
        out = super().save()
        if self.states is not None:
            self.states.put(self.id, out.version, out.state, self.state)
        return out
