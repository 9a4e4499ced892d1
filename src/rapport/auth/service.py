"""The auth service: logging in (rate-limited, audited) and resolving
credentials back to an active user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rapport.audit.service import do_record
from rapport.auth.errors import AuthError, LoginRefused, TokenInvalid, TooManyAttempts
from rapport.auth.models import LoginAttempt
from rapport.auth.schemas import Principal
from rapport.auth.tokens import Claims, fingerprint
from rapport.storage.base import utcnow
from rapport.users.errors import UserNotFound
from rapport.users.models import User
from rapport.users.service import authenticate, get_user

#: Failed logins allowed per account, then per client address, in the window.
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)


def _failures(session: Session, where: object) -> tuple[int, object]:
    since = utcnow() - WINDOW
    n, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            where,  # type: ignore[arg-type]
            LoginAttempt.success.is_(False),
            LoginAttempt.at >= since,
        )
    ).one()
    return int(n), oldest


def check_login_allowed(session: Session, username: str, client: str) -> None:
    """Raise `TooManyAttempts` when this account or client failed too often lately."""
    key = username.strip().casefold()
    for where, limit in (
        (LoginAttempt.username_key == key, MAX_FAILURES_PER_ACCOUNT),
        (LoginAttempt.client == client, MAX_FAILURES_PER_CLIENT),
    ):
        n, oldest = _failures(session, where)
        if n >= limit:
            retry = int((oldest + WINDOW - utcnow()).total_seconds()) + 1  # type: ignore[operator]
            raise TooManyAttempts(
                f"too many failed logins: try again in {max(retry, 1)} seconds",
                retry_after=max(retry, 1),
            )


@dataclass(frozen=True)
class LoginResult:
    """A login's outcome. Refusals are results, not exceptions, so the caller
    commits the recorded attempt (the rate limit counts it) before answering."""

    user: User | None
    #: Seconds to wait, when refused because of too many failures.
    retry_after: int | None = None

    @property
    def refusal(self) -> AuthError:
        if self.retry_after is not None:
            return TooManyAttempts(
                f"too many failed logins: try again in {self.retry_after} seconds",
                retry_after=self.retry_after,
            )
        return LoginRefused("wrong email or password")


def do_login(session: Session, username: str, password: str, *, client: str) -> LoginResult:
    """Check the credentials; every attempt is recorded (rate limit) and audited."""
    key = username.strip().casefold()[:255]
    client = client[:100]
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - KEEP))
    try:
        check_login_allowed(session, key, client)
    except TooManyAttempts as exc:
        do_record(session, "anonymous", "auth.login_throttled", details={"client": client})
        return LoginResult(None, retry_after=exc.retry_after)
    user = authenticate(session, key, password) if key else None
    session.add(LoginAttempt(username_key=key, client=client, success=user is not None))
    if user is None:
        do_record(session, "anonymous", "auth.login_failed", details={"client": client})
        return LoginResult(None)
    do_record(
        session,
        user.email,
        "auth.login",
        subject_type="user",
        subject_id=user.id,
        details={"client": client},
    )
    return LoginResult(user)


def principal_for(session: Session, claims: Claims) -> Principal:
    """The active user the claims name; `TokenInvalid` if they changed since."""
    try:
        user = get_user(session, claims.user_id)
    except UserNotFound as exc:
        raise TokenInvalid("the credentials name no user") from exc
    if not user.active:
        raise TokenInvalid("this user is disabled")
    if claims.fingerprint != fingerprint(user):
        raise TokenInvalid("the password changed since this login: log in again")
    return Principal.model_validate(user, from_attributes=True)
