"""Signed preference links: ``/preferences/<token>``, one per person, signed
with ``RAPPORT_SECRET_KEY`` (itsdangerous, HMAC-SHA256) and expiring after
``RAPPORT_PREFERENCE_LINK_DAYS``. Nothing is stored: the signature is the key."""

from __future__ import annotations

from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rapport.preferences.errors import LinkInvalid
from rapport.settings import get_settings

_SALT = "rapport.preferences.link"
PATH_PREFIX = "/preferences/"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=_SALT)


def max_age() -> timedelta:
    return timedelta(days=get_settings().preference_link_days)


def sign_link(person_id: int) -> tuple[str, str]:
    """The token and the path of a person's preference page."""
    token = str(_serializer().dumps({"p": person_id}))
    return token, PATH_PREFIX + token


def read_link(token: str) -> int:
    """The person a token names; `LinkInvalid` if forged or expired."""
    try:
        data = _serializer().loads(token, max_age=int(max_age().total_seconds()))
    except SignatureExpired as exc:
        raise LinkInvalid("this preference link has expired: ask us for a new one") from exc
    except BadSignature as exc:
        raise LinkInvalid("this preference link is not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise LinkInvalid("this preference link is not valid")
    return int(data["p"])
