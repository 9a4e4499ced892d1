"""The UI's navigation: each entry shows only to roles holding its capability.
A domain that adds pages appends its entries here (one line each)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    capability: str
    #: "main" in the top bar, "admin" in the admin menu.
    group: str = "main"


NAV: list[NavItem] = [
    NavItem("Inbox", "/inbox", "conversations.read"),
    NavItem("People", "/people", "people.read"),
    NavItem("Search", "/search", "search.read"),
    NavItem("Dashboards", "/dashboards", "reports.read"),
    NavItem("Network", "/network", "network.read"),
    NavItem("Knowledge", "/knowledge", "knowledge.read"),
    NavItem("Users", "/admin/users", "users.read", "admin"),
    NavItem("Channels", "/admin/channels", "channels.read", "admin"),
    NavItem("Customer requests", "/admin/requests", "requests.read", "admin"),
    NavItem("Quarantine", "/admin/quarantine", "quarantine.read", "admin"),
    NavItem("Audit trail", "/admin/audit", "audit.read", "admin"),
]
