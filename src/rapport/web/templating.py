"""Rendering pages: Jinja2 templates with the caller, CSRF token, navigation
and front-end assets in every context."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

import rapport
from rapport.web.assets import Assets
from rapport.web.nav import NAV
from rapport.web.security import Caller, csrf_for, set_anon_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime(fmt)


def _ago(value: datetime | None) -> str:
    """A rough age: '3 h', '2 d', '5 mo'."""
    if value is None:
        return "—"
    seconds = (datetime.now(UTC) - value).total_seconds()
    for unit, size in (("y", 31_536_000), ("mo", 2_592_000), ("d", 86_400), ("h", 3600)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{max(int(seconds // 60), 0)} min"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.0f}%"


def _json_script(value: Any) -> Markup:
    """JSON safe to embed in <script type="application/json">."""
    text = json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["ago"] = _ago
TEMPLATES.env.filters["minutes"] = _minutes
TEMPLATES.env.filters["percent"] = _percent
TEMPLATES.env.filters["json_script"] = _json_script


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    caller: Caller | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    assets: Assets = request.app.state.assets
    ctx: dict[str, Any] = {
        "caller": caller,
        "user": caller.principal if caller else None,
        "csrf_token": csrf_for(request, caller),
        "nav": [n for n in NAV if caller and caller.can(n.capability)],
        "assets": assets,
        "version": rapport.__version__,
        "path": request.url.path,
        "htmx_request": request.headers.get("HX-Request") == "true",
    }
    ctx.update(context or {})
    response = TEMPLATES.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
    set_anon_csrf_cookie(request, response)
    return response
