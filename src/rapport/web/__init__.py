"""The web face: REST API under /api/v1 and the browser UI."""
