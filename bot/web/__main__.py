"""Run the web app with uvicorn: ``python -m bot.web [--host HOST] [--port PORT]``."""

from __future__ import annotations

import argparse

import uvicorn

from bot.web.app import create_app
from bot.web.settings import WebSettings


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve the app until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.web",
        description="Serve the public web page and chat widget with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (default: 1); every piece of state the app "
                             "keeps is in the database, so any worker may answer any request")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--proxy-headers", action="store_true",
                        help="trust X-Forwarded-* from --forwarded-allow-ips (behind a proxy)")
    parser.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                        help="proxies whose X-Forwarded-* headers are trusted")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    options = {"host": args.host, "port": args.port, "log_level": args.log_level,
               "proxy_headers": args.proxy_headers,
               "forwarded_allow_ips": args.forwarded_allow_ips, "server_header": False}
    if args.workers == 1:
        uvicorn.run(create_app(WebSettings.from_env()), **options)
    else:  # each worker process builds its own app from the environment
        WebSettings.from_env()  # fail here, once, on a bad setting
        uvicorn.run("bot.web.app:create_app", factory=True, workers=args.workers, **options)


if __name__ == "__main__":
    main()
