"""Personal API tokens: shown once, stored only as a SHA-256 hash.

The CLI (``codesign users token``/``tokens``/``revoke-token``) and the review area's
"API tokens" page share these functions; a user only ever sees and revokes their own.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.review_models import ApiToken, User

PREFIX = "cdsn_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str, form_id: str | None = None) -> str:
    """Create a token for ``user`` and return it (the only time it can be seen).

    Args:
        session: the store.
        user: who the token acts as.
        name: what or who will use it.
        form_id: the one-time id of the form asking for it, if any: a second token with
            the same one violates a unique constraint (``IntegrityError`` on flush).
    """
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name.strip()[:100] or "token",
                         token_hash=_digest(token), form_id=form_id))
    session.flush()
    return token


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """A user's tokens, live and revoked, newest first (only hashes are stored)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s tokens (revoking a revoked one changes nothing).

    Returns:
        The token, or None when ``user`` has no token with this id (someone else's
        tokens are never found).
    """
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return None
    row.revoked = True
    return row


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token belongs to, or None (unknown, revoked or malformed)."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = datetime.now(UTC)
    return user


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke all of a user's tokens; returns how many were live."""
    live = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                  ApiToken.revoked.is_(False))).all()
    for row in live:
        row.revoked = True
    return len(live)
