"""`rapport serve`: the web app and REST API."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    reload: bool = typer.Option(False, "--reload", help="Reload on code changes (development)."),
    scheduler: bool = typer.Option(
        True,
        "--scheduler/--no-scheduler",
        help="Run due jobs (channel polls...) in this process when RAPPORT_BROKER_URL is unset.",
    ),
) -> None:
    """Serve the web app and the REST API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from rapport.cli.output import stderr
    from rapport.cli.schema_guard import ensure_schema
    from rapport.scheduling.runner import SchedulerThread
    from rapport.settings import get_settings

    ensure_schema()
    settings = get_settings()
    thread = None
    if scheduler and not settings.broker_url:
        thread = SchedulerThread(tick=settings.scheduler_tick_seconds)
        thread.start()
        stderr.print("[dim]in-process scheduler running (no RAPPORT_BROKER_URL)[/dim]")
    try:
        uvicorn.run("rapport.web.app:create_app", factory=True, host=host, port=port, reload=reload)
    finally:
        if thread is not None:
            thread.stop()
