"""Mastodon: mentions (notifications), keyword and hashtag search, replies as statuses."""
