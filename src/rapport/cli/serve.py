"""`rapport serve`: the web app and REST API."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    reload: bool = typer.Option(False, "--reload", help="Reload on code changes (development)."),
) -> None:
    """Serve the web app and the REST API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from rapport.cli.schema_guard import ensure_schema

    ensure_schema()
    uvicorn.run("rapport.web.app:create_app", factory=True, host=host, port=port, reload=reload)
