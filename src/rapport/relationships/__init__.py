"""Relationships: people across identities, roles, health, consent, sales,
export and erasure."""
