"""Channels: one folder per connector (`poll`, `receive`, `send` behind one
interface), the connector registry, cursors, credentials and health."""
