"""One module (or package) per ritual, each a pure state machine; `registry()` finds them."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from bot.kernel.scenario import Registry, RitualKind


@cache
def registry() -> Registry:
    """Every `KIND` declared by a module of this package (discovered, so adding a ritual
    touches no shared file)."""
    reg = Registry()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, RitualKind):
            reg.add(kind)
    return reg
