"""Tasks whose domain service is being built elsewhere call it through
`call_service("module:function", ...)`: once that function exists the task
works, with no change here; until then the task fails with `TaskNotWired`,
is kept as a dead letter, and can be replayed (`rapport tasks retry ID`)
once the service lands."""

from __future__ import annotations

import importlib
from typing import Any

from rapport.workers.errors import TaskNotWired


def resolve(target: str) -> Any:
    """``"rapport.analysis.service:do_analyze_messages"`` → that function."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise TaskNotWired(f"{target}: module {module_name} is not installed yet") from None
        raise
    fn = getattr(module, attr, None)
    if fn is None:
        raise TaskNotWired(f"{target}: {module_name} has no {attr} yet")
    return fn


def call_service(target: str, *args: Any, **kwargs: Any) -> Any:
    return resolve(target)(*args, **kwargs)
