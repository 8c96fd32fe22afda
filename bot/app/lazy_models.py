"""aiogram's models, built when first used rather than all at once: ~100 MB less for the bot's process.

aiogram declares its ~630 Telegram types and methods with pydantic's `defer_build`, then rebuilds every
type at import (`aiogram/types/__init__.py` calls `model_rebuild` on each, to resolve their forward
references): validators and serializers for all of them, ~105 of the bare echo bot's 167 MB, though a bot
meets a few dozen. Here those calls are only recorded while aiogram is imported, and each deferred model is
given the names aiogram would have passed: pydantic then builds it, with the same result, the first
time it validates or serializes one. Anything unexpected (another aiogram or pydantic layout) falls back
to aiogram's own eager rebuild.

Call `defer_aiogram_models()` before anything imports aiogram (bot/__main__.py does).
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from typing import Any

import pydantic

log = logging.getLogger(__name__)


def defer_aiogram_models() -> bool:
    """True when aiogram's models are left to be built on first use; False when aiogram was imported
    already (or its layout is not the expected one), which leaves everything as aiogram makes it."""
    if "aiogram" in sys.modules:
        return False
    original = pydantic.BaseModel.__dict__["model_rebuild"]
    recorded: list[tuple[type[pydantic.BaseModel], dict[str, Any]]] = []

    def record(cls: type[pydantic.BaseModel], **kwargs: Any) -> bool | None:
        # Only aiogram.types' loop over its types; pydantic calls model_rebuild itself too.
        if sys._getframe(1).f_globals.get("__name__") != "aiogram.types" or "_types_namespace" not in kwargs:
            return original.__func__(cls, **kwargs)  # type: ignore[no-any-return]
        recorded.append((cls, kwargs))
        return None

    pydantic.BaseModel.model_rebuild = classmethod(record)  # type: ignore[method-assign, assignment, arg-type]
    try:
        import aiogram  # noqa: F401  (the import whose rebuilds are recorded)
    finally:
        pydantic.BaseModel.model_rebuild = original  # type: ignore[method-assign]
    namespaces = {id(kw["_types_namespace"]) for _, kw in recorded}
    if len(namespaces) != 1:
        log.warning("aiogram's models are not as expected: built at start as aiogram does")
        for cls, kwargs in recorded:
            cls.model_rebuild(**kwargs)
        return False
    namespace: dict[str, Any] = recorded[0][1]["_types_namespace"]
    # A deferred build resolves a model's forward references in its module's globals, where aiogram imports
    # the other types only for type checkers: they are added there (never replacing a name). Any model that
    # refers to a type, `Response[list[Update]]` made at run time included, then finds it.
    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith(_AIOGRAM_MODELS):
            for key in _referred(module.__dict__, name) & namespace.keys():
                module.__dict__.setdefault(key, namespace[key])
    return True


def _referred(globals_: dict[str, Any], module: str) -> set[str]:
    """The names in the annotations of the models defined in a module, inherited fields included (only
    those: all of them in each of ~630 modules would cost ~8 MB)."""
    names: set[str] = set()
    for value in list(globals_.values()):
        if isinstance(value, type) and issubclass(value, pydantic.BaseModel) and value.__module__ == module:
            for klass in value.__mro__:
                for annotation in inspect.get_annotations(klass).values():
                    names.update(_NAME.findall(str(annotation)))
    return names


_AIOGRAM_MODELS = ("aiogram.types.", "aiogram.methods.")
_NAME = re.compile(r"[A-Za-z_]\w*")
