"""The bundled demo data set (see PROVENANCE.md beside it)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

DEMO_FILE = "twcs_head_5k.csv"


def demo_path() -> Path:
    """The demo TWCS file inside the installed package."""
    resource = files("rapport.demo").joinpath(DEMO_FILE)
    with as_file(resource) as path:
        return Path(path)
