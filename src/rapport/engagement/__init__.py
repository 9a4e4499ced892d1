"""Engagement: the triage policy, decisions with reasons, the prioritized
inbox, assignment and SLAs, replies through the outbox, suggested answers,
and the inbox essentials (status, labels, notes, canned responses, CSAT,
bulk actions, saved views)."""
