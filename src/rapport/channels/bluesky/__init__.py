"""Bluesky (AT Protocol XRPC): search, notifications, replies with createRecord."""
