"""The shared secret between Rasa and the action server."""

from __future__ import annotations

import hmac
import os

TOKEN_ENV = "ACTION_SERVER_TOKEN"
MIN_TOKEN_CHARS = 16
#: Paths anyone may call (liveness and readiness probes).
OPEN_PATHS = frozenset({"/health"})


class TokenError(RuntimeError):
    """The token is missing or too short; the message says how to set it."""


def token_from_env() -> str:
    """``ACTION_SERVER_TOKEN``, checked.

    Raises:
        TokenError: it is unset or shorter than 16 characters.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(
            f"{TOKEN_ENV} must be set to a random string of at least {MIN_TOKEN_CHARS} "
            "characters, the same for Rasa (endpoints.yml sends it) and the action server; "
            "`make run` keeps one in var/action-server.token (e.g. `openssl rand -hex 32`).")
    return token


def authorised(path: str, authorization: str | None, token: str) -> bool:
    """Whether a request may reach ``path``: open paths always, others with the token.

    Args:
        path: the request path.
        authorization: the ``Authorization`` header, if any.
        token: the expected token.
    """
    if path in OPEN_PATHS:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())
