"""Which roles may do what: one capability per kind of read or write.

Routes (API and pages) name the capability they need; docs/ROLES.md lists
every route with the roles this map gives it, and a test calls each route
as each role to check that both agree. A new domain adds its capabilities
here (e.g. ``"policy.write": MANAGERS``) and its routes to docs/ROLES.md.
"""

from __future__ import annotations

from rapport.users.models import ROLES

EVERYONE = frozenset(ROLES)
#: The people who work conversations: answer, claim, ask customers for preferences.
WORKERS = frozenset({"agent", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
ADMINS = frozenset({"admin"})
#: The people who study the conversation: listening queries, alert rules.
ANALYSTS = frozenset({"analyst", "manager", "admin"})

CAPABILITIES: dict[str, frozenset[str]] = {
    "reports.read": EVERYONE,
    #: Trends, alerts, share of voice, response metrics, perception gap, social to sales.
    "insights.read": EVERYONE,
    #: Add and remove listening queries.
    "listening.write": ANALYSTS,
    #: Set and remove alert rules (and where their notifications go).
    "alerts.write": ANALYSTS,
    #: Record why the company believes customers engage (the perception gap).
    "insights.belief": MANAGERS,
    "conversations.read": EVERYONE,
    "conversations.work": WORKERS,
    #: Full-text search over messages (and, on the page, people).
    "search.read": EVERYONE,
    #: Give a thread to someone else, or take it back from them.
    "conversations.assign": MANAGERS,
    "policy.read": EVERYONE,
    #: Change the triage policy (and so SLAs and priorities).
    "policy.write": MANAGERS,
    "teams.write": MANAGERS,
    #: Write the canned responses agents pick from.
    "canned.write": WORKERS,
    #: Labels on people are personal data: those who work conversations set them.
    "people.label": WORKERS,
    "people.read": EVERYONE,
    #: Merge and unmerge people, set their roles (agents merge duplicate people).
    "people.write": WORKERS,
    #: Hand a person everything held on them.
    "people.export": MANAGERS,
    #: Erase a person (cannot be undone).
    "people.erase": ADMINS,
    #: Change a person's consent and channel preferences.
    "consent.write": WORKERS,
    "preferences.link": WORKERS,
    "channels.read": MANAGERS,
    #: Fetch now what a live channel has new (managers watch channel health).
    "channels.poll": MANAGERS,
    #: Add, remove, enable, disable live connectors (credentials): admins.
    "channels.write": ADMINS,
    "quarantine.read": MANAGERS,
    "network.read": EVERYONE,
    "knowledge.read": EVERYONE,
    #: Approve or reject harvested answers (agents write knowledge).
    "knowledge.write": WORKERS,
    "users.read": ADMINS,
    "users.write": ADMINS,
    "audit.read": ADMINS,
    "requests.read": ADMINS,
    "requests.write": ADMINS,
}


def roles_for(capability: str) -> frozenset[str]:
    """The roles holding ``capability`` (KeyError for an unknown one: a typo
    must fail loudly, not open a route to nobody or everybody)."""
    return CAPABILITIES[capability]


def allows(role: str, capability: str) -> bool:
    return role in CAPABILITIES[capability]
