"""Building the action server's Sanic app: rasa-sdk's endpoints behind the token."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

from bot.action_server.auth import authorised

logger = logging.getLogger(__name__)


def build_app(actions_package: str, token: str,
              on_start: Callable[[], None] | None = None) -> Sanic:
    """rasa-sdk's app serving ``actions_package``, refusing calls without ``token``.

    Args:
        actions_package: the package whose ``Action`` classes are served (``actions``).
        token: the shared secret Rasa sends as ``Authorization: Bearer <token>``.
        on_start: called once the server listens (e.g. to warm up the knowledge base).
    """
    executor = ActionExecutor()
    executor.register_package(actions_package)
    app = create_app(executor, cors_origins=[])

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if authorised(request.path, request.headers.get("authorization"), token):
            return None
        logger.warning("refused %s %s: missing or wrong token", request.method, request.path)
        return response.json({"error": "unauthorised"}, status=401,
                             headers={"WWW-Authenticate": "Bearer"})

    if on_start is not None:
        start = on_start

        @app.after_server_start
        async def started(_app: Sanic) -> None:
            start()

    return app
