"""The UI's front-end libraries (htmx, Chart.js).

They come from npm: `make web-assets` installs `frontend/package.json` (pinned
by its lock file) into ``build/web/node_modules`` of the checkout, and the
app serves them from there under ``/static/vendor/`` — never from a CDN,
never committed. ``RAPPORT_WEB_ASSETS_DIR`` points elsewhere (a packaged
install). Without them every page still works as plain HTML forms; charts
show their figures as tables and a note says how to install the libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rapport.settings import get_settings

#: What the templates load, relative to node_modules.
VENDOR_FILES = {
    "htmx": "htmx.org/dist/htmx.min.js",
    "chartjs": "chart.js/dist/chart.umd.min.js",
    "swagger_js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger_css": "swagger-ui-dist/swagger-ui.css",
}
URL_PREFIX = "/static/vendor"


@dataclass(frozen=True)
class Assets:
    #: node_modules directory, when installed.
    root: Path | None
    #: name → URL, for the files present.
    urls: dict[str, str]

    @property
    def complete(self) -> bool:
        return set(self.urls) == set(VENDOR_FILES)


def checkout_build_dir() -> Path:
    """build/web of the source checkout this package runs from (editable install)."""
    return Path(__file__).resolve().parents[3] / "build" / "web"


def find_assets() -> Assets:
    configured = get_settings().web_assets_dir
    base = configured if configured is not None else checkout_build_dir()
    root = base / "node_modules" if (base / "node_modules").is_dir() else base
    if not root.is_dir():
        return Assets(None, {})
    urls = {
        name: f"{URL_PREFIX}/{rel}" for name, rel in VENDOR_FILES.items() if (root / rel).is_file()
    }
    return Assets(root if urls else None, urls)
