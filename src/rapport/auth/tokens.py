"""Signed, expiring credentials: API access tokens and browser sessions.

Both are signed with ``RAPPORT_SECRET_KEY`` (itsdangerous, HMAC-SHA256) and
carry the user's id and a fingerprint of their password hash, so changing a
password ends every token and session issued before. Each request re-reads
the user: a disabled user or a changed role takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rapport.auth.errors import TokenInvalid
from rapport.settings import get_settings
from rapport.users.models import User

_TOKEN_SALT = "rapport.auth.token"
_SESSION_SALT = "rapport.auth.session"


@dataclass(frozen=True)
class Claims:
    user_id: int
    fingerprint: str
    #: The session's CSRF token (browser sessions only).
    csrf: str | None = None


def fingerprint(user: User) -> str:
    """Changes whenever the user's password changes."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=salt)


def max_age_seconds() -> int:
    return get_settings().session_hours * 3600


def issue_access_token(user: User) -> str:
    return str(_serializer(_TOKEN_SALT).dumps({"u": user.id, "f": fingerprint(user)}))


def issue_session(user: User) -> tuple[str, str]:
    """A session cookie value and its CSRF token."""
    csrf = secrets.token_urlsafe(24)
    value = _serializer(_SESSION_SALT).dumps({"u": user.id, "f": fingerprint(user), "c": csrf})
    return str(value), csrf


def _read(salt: str, value: str) -> Claims:
    try:
        data = _serializer(salt).loads(value, max_age=max_age_seconds())
    except SignatureExpired as exc:
        raise TokenInvalid("the login has expired: log in again") from exc
    except BadSignature as exc:
        raise TokenInvalid("the credentials are not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise TokenInvalid("the credentials are not valid")
    csrf = data.get("c")
    return Claims(int(data["u"]), str(data.get("f", "")), str(csrf) if csrf else None)


def read_access_token(value: str) -> Claims:
    return _read(_TOKEN_SALT, value)


def read_session(value: str) -> Claims:
    return _read(_SESSION_SALT, value)


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (False if either is missing)."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
