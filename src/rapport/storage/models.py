"""The one place that knows every domain's model module, so Alembic sees the
whole schema (`target_metadata`) and tests can create it."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from rapport.storage.base import Base

#: Every module that defines tables. A new domain adds its models here.
MODEL_MODULES = (
    "rapport.conversations.models",
    "rapport.relationships.models",
    "rapport.audit.models",
    "rapport.users.models",
    "rapport.workers.models",
    "rapport.auth.models",
    "rapport.preferences.models",
    "rapport.network.models",
    "rapport.knowledge.models",
    "rapport.channels.models",
    "rapport.scheduling.models",
    "rapport.analysis.models",
    "rapport.engagement.models",
    "rapport.reports.models",
)


def load_all_models() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
