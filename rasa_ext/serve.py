"""``python -m rasa_ext.serve [rasa run options]``: ``rasa run``, closed by default.

- The HTTP API token comes from ``RASA_AUTH_TOKEN`` (at least 16 characters) instead of
  the command line, where every local user could read it with ``ps``; with
  ``--enable-api`` and no token the server refuses to start.
- Rasa listens on 127.0.0.1 unless ``--interface`` says otherwise (a private address
  when the channels' proxy runs on another machine).
- Request bodies over 64 KiB are refused before they are read (Sanic's
  ``REQUEST_MAX_SIZE``: 413) unless ``SANIC_REQUEST_MAX_SIZE`` says otherwise: the
  longest message the channels take (``CODESIGN_MAX_MESSAGE_CHARS``, checked here) fits.
  Without it a 1 MB message held the server for 21 s. socket.io packets have the same
  limit (``rasa_ext.webchat``); websocket frames keep Sanic's 1 MiB (a frame over it is
  cut off mid-connection, which Sanic 21.12 logs as an error: engine.io's check closes
  the connection cleanly instead).

Every other option is ``rasa run``'s own.
"""

import os
import sys
from typing import List, MutableMapping, Optional

MIN_TOKEN_CHARS = 16
#: The largest request body or websocket message Rasa reads, in bytes (the channels'
#: limit too, ``rasa_ext.webchat``): the longest message allowed (4,096 characters)
#: written with JSON's longest escapes (12 bytes a character) fits, with its envelope.
MAX_BODY_BYTES = 64 * 1024


def body_limits(environ: MutableMapping[str, str]) -> None:
    """Set Sanic's request size limit in ``environ`` unless already set."""
    environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_BODY_BYTES))


def rasa_arguments(args: List[str], token: str) -> List[str]:
    """The ``rasa run`` arguments for ``args`` with the token and the interface added.

    Raises:
        SystemExit: ``--auth-token`` is given on the command line, or ``--enable-api`` is
            asked for without a token of at least 16 characters.
    """
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args):
        raise SystemExit("error: pass the token in RASA_AUTH_TOKEN, not --auth-token "
                         "(the command line is visible to every local user)")
    result = ["run", *args]
    if "--enable-api" in args:
        if len(token) < MIN_TOKEN_CHARS:
            raise SystemExit("error: --enable-api needs RASA_AUTH_TOKEN, a random string of "
                             f"at least {MIN_TOKEN_CHARS} characters (`make run` keeps one "
                             "in var/rasa-auth.token)")
        result += ["--auth-token", token]
    if not any(arg in ("-i", "--interface") or arg.startswith("--interface=") for arg in args):
        result += ["--interface", "127.0.0.1"]
    return result


def main(argv: Optional[List[str]] = None) -> None:
    """Run Rasa's own command line with the arguments completed and the body limits set.

    Raises:
        SystemExit: the arguments are refused, or ``CODESIGN_MAX_MESSAGE_CHARS`` is not a
            whole number from 1 to 4,096.
    """
    from rasa.__main__ import main as rasa_main

    from rasa_ext.text import max_message_chars

    args = sys.argv[1:] if argv is None else argv
    try:
        max_message_chars()
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    body_limits(os.environ)
    sys.argv = ["rasa", *rasa_arguments(args, os.environ.get("RASA_AUTH_TOKEN", "").strip())]
    rasa_main()


if __name__ == "__main__":
    main()
