"""Discourse forums: latest posts, replies and private messages as a user."""
