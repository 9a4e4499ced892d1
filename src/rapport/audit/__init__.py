"""The audit trail: who did what to which record, and when. Every domain
records its sensitive writes here (merges, consent, roles, exports,
erasures, replies, policy changes, logins...)."""
