"""Who is calling the JSON API: personal API tokens sent as ``Authorization: Bearer``.

Tokens (``cdsn_…``, from the review area's API tokens page or ``codesign users token``)
are looked up by their SHA-256
(``bot.accounts.tokens``). A missing, unknown or revoked token, or one of a disabled
user, gets 401 with ``WWW-Authenticate: Bearer``; a valid token of the wrong role gets
403. The API uses no cookies, so a browser cannot be tricked into sending the token
(cross-site request forgery needs ambient credentials): its writes need no CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.accounts.tokens import user_for_token
from bot.web.auth import StaffUser
from bot.web.deps import DbSession

bearer = HTTPBearer(
    auto_error=False, scheme_name="ApiToken",
    description="A personal API token (made on the review area's *API tokens* page, "
                "or with `codesign users token EMAIL`), sent as "
                "`Authorization: Bearer cdsn_…`.")

MISSING = "This API needs a personal API token: send `Authorization: Bearer cdsn_…`."
INVALID = "The API token is unknown, revoked, or belongs to a disabled account."
ADMINS_ONLY = "Only admins may change the codebook or an answer's tags."


# A token's user is the same plain copy of a member of staff as a signed-in one.
ApiUser = StaffUser


def _unauthorised(detail: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer realm="codesign", error="{error}"' if error else \
        'Bearer realm="codesign"'
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": challenge})


def api_user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
             session: DbSession) -> ApiUser:
    """The active user of the request's bearer token.

    Raises:
        HTTPException: 401 when the token is missing, unknown, revoked or its user
            disabled.
    """
    if credentials is None or not credentials.credentials:
        raise _unauthorised(MISSING)
    user = user_for_token(session, credentials.credentials.strip())
    if user is None:
        raise _unauthorised(INVALID, "invalid_token")
    return ApiUser(user.id, user.email, user.role)


def api_admin(user: Annotated[ApiUser, Depends(api_user)]) -> ApiUser:
    """The request's user, who must be an admin.

    Raises:
        HTTPException: 403 for a reviewer (401 as in ``api_user`` without a valid token).
    """
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=ADMINS_ONLY)
    return user


Reader = Annotated[ApiUser, Depends(api_user)]
Admin = Annotated[ApiUser, Depends(api_admin)]
