"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the key from
settings.

``RAPPORT_CREDENTIALS_KEY`` holds one or more Fernet keys, comma-separated:
the first encrypts, every one decrypts, so a key is rotated by putting the
new one first (`rapport channels rotate-key` re-encrypts). Unset, the key is
derived from ``RAPPORT_SECRET_KEY`` with HKDF-SHA256.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rapport.channels.errors import ChannelConfigError, CredentialsError
from rapport.settings import get_settings

_INFO = b"rapport channel credentials v1"


def derive_key(secret: str) -> bytes:
    """A Fernet key derived from the application's secret key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


def _keys() -> list[bytes]:
    settings = get_settings()
    if settings.credentials_key:
        keys = [k.strip().encode() for k in settings.credentials_key.split(",") if k.strip()]
        if keys:
            return keys
    return [derive_key(settings.secret_key)]


def cipher() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in _keys()])
    except ValueError as exc:
        raise ChannelConfigError(
            f"RAPPORT_CREDENTIALS_KEY is not a valid Fernet key ({exc}); make one with "
            "`python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`"
        ) from None


def encrypt(values: dict[str, Any]) -> str | None:
    """A token for ``values`` (None when there is nothing to keep)."""
    if not values:
        return None
    return cipher().encrypt(json.dumps(values, sort_keys=True).encode("utf-8")).decode("ascii")


def decrypt(token: str | None, *, what: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        data = cipher().decrypt(token.encode("ascii"))
    except InvalidToken:
        raise CredentialsError(
            f"cannot decrypt the credentials of {what}: RAPPORT_CREDENTIALS_KEY (or "
            "RAPPORT_SECRET_KEY it is derived from) changed; restore the old key, or put it "
            "after the new one in RAPPORT_CREDENTIALS_KEY, or add the channel again"
        ) from None
    value = json.loads(data)
    if not isinstance(value, dict):
        raise CredentialsError(f"the stored credentials of {what} are not an object")
    return value


def rotate(token: str | None) -> str | None:
    """Re-encrypt ``token`` with the first key."""
    if not token:
        return token
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise CredentialsError(
            "cannot re-encrypt: no configured key decrypts the stored credentials"
        ) from None
