"""The browser UI: server-rendered pages (Jinja2), enhanced with htmx."""
