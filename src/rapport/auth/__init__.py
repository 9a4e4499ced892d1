"""Authentication and access: logins (rate-limited), signed access tokens and
browser sessions, and which roles may do what."""
