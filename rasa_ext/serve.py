"""``python -m rasa_ext.serve [rasa run options]``: ``rasa run``, closed by default.

- The HTTP API token comes from ``RASA_AUTH_TOKEN`` (at least 16 characters) instead of
  the command line, where every local user could read it with ``ps``; with
  ``--enable-api`` and no token the server refuses to start.
- Rasa listens on 127.0.0.1 unless ``--interface`` says otherwise (a private address
  when the channels' proxy runs on another machine).

Every other option is ``rasa run``'s own.
"""

import os
import sys
from typing import List, Optional

MIN_TOKEN_CHARS = 16


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
    """Run Rasa's own command line with the arguments completed."""
    from rasa.__main__ import main as rasa_main

    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["rasa", *rasa_arguments(args, os.environ.get("RASA_AUTH_TOKEN", "").strip())]
    rasa_main()


if __name__ == "__main__":
    main()
