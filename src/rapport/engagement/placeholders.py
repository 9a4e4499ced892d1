"""Placeholders: personal details taken out of suggested answers, and the
variables of canned responses and replies put back in.

`generalise(text)` turns a past answer into a reusable one: e-mail
addresses, phone numbers, order/reference numbers, the customer's handle,
a greeted name and the agent's signature become `{{...}}` placeholders.

`render(text, values)` fills the variables `{{customer.name}}`,
`{{customer.handle}}`, `{{agent.name}}`, `{{thread.id}}`; a variable with
no value renders empty (with a warning), an unknown one is refused by name
(`UnknownVariable`), so `{{order_number}}` left in a suggestion is never
sent as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapport.engagement.errors import ReplyRefused

VARIABLES = ("customer.name", "customer.handle", "agent.name", "thread.id")
#: Placeholders `generalise` writes for details the agent must type in.
DETAIL_PLACEHOLDERS = ("email", "phone", "order_number")

_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(
    r"(?<![\w@/#+])(?:\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?(?:[\s.-]?\d{2,4}){1,4}(?![\w/])"
)
_NUMBER = re.compile(r"(?<![\w@/])#?\d{5,}(?![\w/])")
_LEADING_HANDLE = re.compile(r"^(\s*)@(\w{1,50})")
_GREETING = re.compile(r"\b(Hi|Hello|Hey|Dear|Thanks|Thank you)\s+([A-Z][a-z]{1,20})\b(?=[,!.\s])")
_SIGNATURE = re.compile(r"(\s[\^\-*~]\s?)([A-Z]{1,3}|[A-Z][a-z]{1,15})\s*$")
_NOT_NAMES = frozenset(
    {"There", "Team", "All", "Everyone", "Again", "So", "For", "You", "We", "Guys", "Folks"}
)


class UnknownVariable(ReplyRefused):
    """A `{{variable}}` Rapport cannot fill (named in the message)."""


@dataclass(frozen=True)
class Rendered:
    text: str
    #: Variables that had no value (rendered empty).
    missing: list[str]


def generalise(text: str) -> tuple[str, list[str]]:
    """``text`` with personal details replaced by placeholders, and which ones."""
    used: list[str] = []

    def mark(name: str) -> str:
        if name not in used:
            used.append(name)
        return "{{" + name + "}}"

    out = _EMAIL.sub(lambda _m: mark("email"), text)
    out = _LEADING_HANDLE.sub(lambda m: m.group(1) + "@" + mark("customer.handle"), out)
    out = _NUMBER.sub(lambda _m: mark("order_number"), out)
    out = _PHONE.sub(
        lambda m: mark("phone") if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0), out
    )

    def greet(m: re.Match[str]) -> str:
        if m.group(2) in _NOT_NAMES:
            return m.group(0)
        return f"{m.group(1)} {mark('customer.name')}"

    out = _GREETING.sub(greet, out)
    out = _SIGNATURE.sub(lambda m: m.group(1) + mark("agent.name"), out)
    return out, used


def variables_in(text: str) -> list[str]:
    return [m.group(1) for m in _VARIABLE.finditer(text)]


def render(text: str, values: Mapping[str, str | None]) -> Rendered:
    """Fill ``text``'s variables from ``values``; refuses an unknown variable."""
    for name in variables_in(text):
        if name in DETAIL_PLACEHOLDERS:
            raise UnknownVariable(
                f"{{{{{name}}}}} is a placeholder for a personal detail: "
                "type the real value in before sending"
            )
        if name not in VARIABLES:
            raise UnknownVariable(
                f"unknown variable {{{{{name}}}}} (known: "
                + ", ".join("{{" + v + "}}" for v in VARIABLES)
                + ")"
            )
    missing: list[str] = []

    def fill(m: re.Match[str]) -> str:
        value = values.get(m.group(1))
        if not value:
            if m.group(1) not in missing:
                missing.append(m.group(1))
            return ""
        return value

    rendered = _VARIABLE.sub(fill, text)
    return Rendered(rendered.strip(), missing)
