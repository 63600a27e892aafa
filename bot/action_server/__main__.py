"""``python -m bot.action_server``: serve the custom actions to Rasa (see the package)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bot.action_server.auth import TokenError, token_from_env


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve until stopped (SIGINT or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.action_server",
        description="Serve codesign's custom actions to Rasa, in one process, behind "
                    "ACTION_SERVER_TOKEN (Rasa sends it as a Bearer token; /health is open).")
    parser.add_argument("--host", default=os.environ.get("ACTION_SERVER_HOST", "127.0.0.1"),
                        help="interface to listen on (default: 127.0.0.1; a private address "
                             "when Rasa runs on another machine)")
    parser.add_argument("--port", type=int, default=5055, help="port (default: 5055)")
    parser.add_argument("--actions", default="actions",
                        help="package of the actions (default: actions)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--no-warm-up", action="store_true",
                        help="do not load the embedding model and the knowledge index at "
                             "start (the first service question then waits for them)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        token = token_from_env()
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc

    from bot.action_server.app import build_app

    on_start = None
    if not args.no_warm_up and os.environ.get("CODESIGN_WARM_UP", "1") != "0":
        from actions.actions import start_warm_up

        on_start = start_warm_up
    app = build_app(args.actions, token, on_start)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False,
            motd=False)


if __name__ == "__main__":
    main()
