"""Which processes a machine runs, on which addresses and ports, from the environment.

The embedded default (``make run``) runs one Rasa server, one action server, the web app
and, with a bot token, the Telegram bridge, each on its usual port on 127.0.0.1. The
scaled mode (``make run-scaled``) runs several Rasa servers and action servers on
internal ports behind nginx, the single public entry point. A multi-machine deployment
uses the scaled layout on every machine and picks, per machine, which programs run
there (``CODESIGN_PROGRAMS``) and where the others are (``CODESIGN_*_UPSTREAMS``).

Environment (all optional):

=============================  ===========================================================
``CODESIGN_PROGRAMS``          programs on this machine: any of ``rasa actions web
                               telegram nginx`` (default: all of the mode; ``telegram``
                               only with ``TELEGRAM_BOT_TOKEN``)
``CODESIGN_RASA_PROCESSES``    Rasa servers (scaled default 2)
``CODESIGN_ACTION_PROCESSES``  action servers (scaled default 2)
``CODESIGN_WEB_WORKERS``       web app worker processes (scaled default 2)
``CODESIGN_BIND``              address the internal services listen on (127.0.0.1; a
                               private address when other machines must reach them)
``CODESIGN_INTERNAL_PORT_BASE``  first internal port of the scaled mode (7100)
``CODESIGN_PUBLIC_PORT``       nginx's public port (8080)
``CODESIGN_PUBLIC_BIND``       nginx's public address (0.0.0.0)
``CODESIGN_RASA_UPSTREAMS``    ``host:port`` list nginx balances the channels over
                               (default: this machine's Rasa servers)
``CODESIGN_ACTION_UPSTREAMS``  ``host:port`` list of action servers (default: this
                               machine's)
``CODESIGN_WEB_UPSTREAMS``     ``host:port`` list of web apps (default: this machine's)
``CODESIGN_RASA_PORT``         the embedded default's Rasa port (5005)
``CODESIGN_ACTION_PORT``       the embedded default's action-server port (5055)
``CODESIGN_WEB_PORT``          the embedded default's web port (8000)
=============================  ===========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import PROJECT_ROOT

KINDS = ("rasa", "actions", "web", "telegram", "nginx")
#: The embedded default's ports (DESIGN.md's contract).
EMBEDDED_RASA_PORT = 5005
EMBEDDED_ACTION_PORT = 5055
EMBEDDED_WEB_PORT = 8000
EMBEDDED_TELEGRAM_PORT = 8443
#: Offsets from the scaled mode's internal port base.
RASA_OFFSET, ACTION_BALANCER_OFFSET, ACTION_OFFSET, WEB_OFFSET, TELEGRAM_OFFSET = 0, 50, 50, 80, 90
MAX_PROCESSES = 40


class Mode(StrEnum):
    """How codesign runs."""

    embedded = "embedded"
    scaled = "scaled"


class LayoutError(ValueError):
    """A layout variable is invalid; the message names it and says what is allowed."""


@dataclass(frozen=True)
class Program:
    """One supervised process.

    Attributes:
        name: supervisord's program name (``rasa-1``, ``actions-2``, ``web``, …).
        kind: one of ``KINDS``.
        command: the command line.
        environment: variables set for this program only (on top of the inherited ones).
        health_url: GET must answer 2xx while it is healthy (None: liveness only).
        startup_grace: seconds after a start before failed health checks count.
        stop_seconds: how long a graceful stop may take before SIGKILL.
    """

    name: str
    kind: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    startup_grace: float = 60.0
    stop_seconds: int = 20


@dataclass(frozen=True)
class Layout:
    """Everything the configuration files are rendered from.

    Attributes:
        mode: embedded or scaled.
        root: the project folder (commands and endpoint files are found there).
        var: the data folder (logs, sockets, rendered files).
        programs: what runs on this machine.
        bind: where the internal services listen.
        public_bind, public_port: nginx's public address (scaled mode).
        rasa_upstreams, action_upstreams, web_upstreams: ``host:port`` lists nginx
            balances over.
        telegram_upstream: the bridge's webhook server, when nginx forwards to it.
        telegram_path: the webhook's URL path nginx forwards (``/telegram``).
        action_balancer: ``host:port`` of nginx's internal listener in front of the
            action servers (None: Rasa calls the one action server directly).
        action_endpoint_url: what Rasa calls for custom actions.
    """

    mode: Mode
    root: Path
    var: Path
    programs: list[Program]
    bind: str
    public_bind: str
    public_port: int
    rasa_upstreams: list[str]
    action_upstreams: list[str]
    web_upstreams: list[str]
    telegram_upstream: str | None
    telegram_path: str
    action_balancer: str | None
    action_endpoint_url: str

    def program(self, name: str) -> Program:
        """The program called ``name``.

        Raises:
            KeyError: there is none on this machine.
        """
        for program in self.programs:
            if program.name == name:
                return program
        raise KeyError(name)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise LayoutError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _hosts(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name, "").replace(",", " ").split()
    for item in raw:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise LayoutError(f"{name} must list host:port pairs separated by spaces, "
                              f"not {item!r}")
    return raw or default


def _kinds(env: Mapping[str, str], mode: Mode) -> set[str]:
    raw = env.get("CODESIGN_PROGRAMS", "").replace(",", " ").split()
    unknown = sorted(set(raw) - set(KINDS))
    if unknown:
        raise LayoutError(f"CODESIGN_PROGRAMS: unknown program(s) {', '.join(unknown)}; "
                          f"choose from {' '.join(KINDS)}")
    kinds = set(raw) if raw else set(KINDS) - ({"nginx"} if mode is Mode.embedded else set())
    if not env.get("TELEGRAM_BOT_TOKEN", "").strip():
        kinds.discard("telegram")
    if mode is Mode.embedded and "nginx" in kinds:
        raise LayoutError("CODESIGN_PROGRAMS: nginx runs in the scaled mode only")
    return kinds


def from_env(mode: Mode, env: Mapping[str, str] | None = None,
             root: Path = PROJECT_ROOT) -> Layout:
    """The layout of this machine for ``mode``, from ``env`` (default: ``os.environ``).

    Raises:
        LayoutError: a variable is invalid (the message names it).
    """
    env = os.environ if env is None else env
    var = Path(env.get("CODESIGN_VAR_DIR") or root / "var").resolve()
    kinds = _kinds(env, mode)
    scaled = mode is Mode.scaled
    bind = env.get("CODESIGN_BIND", "").strip() or "127.0.0.1"
    base = _int(env, "CODESIGN_INTERNAL_PORT_BASE", 7100, 1024, 65000)
    rasa_count = _int(env, "CODESIGN_RASA_PROCESSES", 2 if scaled else 1, 1, MAX_PROCESSES)
    action_count = _int(env, "CODESIGN_ACTION_PROCESSES", 2 if scaled else 1, 1,
                        MAX_PROCESSES)
    web_workers = _int(env, "CODESIGN_WEB_WORKERS", 2 if scaled else 1, 1, MAX_PROCESSES)
    if not scaled and (rasa_count > 1 or action_count > 1):
        raise LayoutError("several Rasa or action servers need the scaled mode "
                          "(make run-scaled): the embedded default has no load balancer")
    rasa_ports = ([base + RASA_OFFSET + i for i in range(1, rasa_count + 1)] if scaled
                  else [_int(env, "CODESIGN_RASA_PORT", EMBEDDED_RASA_PORT, 1, 65535)])
    action_ports = ([base + ACTION_OFFSET + i for i in range(1, action_count + 1)] if scaled
                    else [_int(env, "CODESIGN_ACTION_PORT", EMBEDDED_ACTION_PORT, 1, 65535)])
    web_port = base + WEB_OFFSET if scaled else _int(env, "CODESIGN_WEB_PORT",
                                                     EMBEDDED_WEB_PORT, 1, 65535)
    telegram_port = base + TELEGRAM_OFFSET if scaled else _int(
        env, "TELEGRAM_WEBHOOK_PORT", EMBEDDED_TELEGRAM_PORT, 1, 65535)

    local = {"rasa": [f"{bind}:{p}" for p in rasa_ports] if "rasa" in kinds else [],
             "actions": [f"{bind}:{p}" for p in action_ports] if "actions" in kinds else [],
             "web": [f"{bind}:{web_port}"] if "web" in kinds else []}
    rasa_upstreams = _hosts(env, "CODESIGN_RASA_UPSTREAMS", local["rasa"])
    action_upstreams = _hosts(env, "CODESIGN_ACTION_UPSTREAMS", local["actions"])
    web_upstreams = _hosts(env, "CODESIGN_WEB_UPSTREAMS", local["web"])
    balanced = scaled and len(action_upstreams) > 1 and "rasa" in kinds
    action_balancer = f"127.0.0.1:{base + ACTION_BALANCER_OFFSET}" if balanced else None
    action_target = action_balancer or (action_upstreams[0] if action_upstreams
                                        else f"127.0.0.1:{EMBEDDED_ACTION_PORT}")
    action_endpoint_url = f"http://{action_target}/webhook"
    webhook = urlsplit(env.get("TELEGRAM_WEBHOOK_URL", "").strip())
    webhook_mode = env.get("TELEGRAM_MODE", "").strip().lower() == "webhook"
    telegram_upstream = (f"127.0.0.1:{telegram_port}"
                         if scaled and webhook_mode and "telegram" in kinds else None)

    layout = Layout(
        mode=mode, root=root, var=var, programs=[], bind=bind,
        public_bind=env.get("CODESIGN_PUBLIC_BIND", "").strip() or "0.0.0.0",
        public_port=_int(env, "CODESIGN_PUBLIC_PORT", 8080, 1, 65535),
        rasa_upstreams=rasa_upstreams, action_upstreams=action_upstreams,
        web_upstreams=web_upstreams, telegram_upstream=telegram_upstream,
        telegram_path="/" + webhook.path.strip("/") if webhook.path.strip("/") else "/telegram",
        action_balancer=action_balancer, action_endpoint_url=action_endpoint_url)
    programs = _programs(layout, kinds, rasa_ports, action_ports, web_port, web_workers,
                         telegram_port, env)
    return Layout(**{**layout.__dict__, "programs": programs})


def _programs(layout: Layout, kinds: set[str], rasa_ports: list[int], action_ports: list[int],
              web_port: int, web_workers: int, telegram_port: int,
              env: Mapping[str, str]) -> list[Program]:
    root, bind, scaled = layout.root, layout.bind, layout.mode is Mode.scaled
    rasa_python = str(root / ".venv-rasa/bin/python")
    app_python = str(root / ".venv/bin/python")
    endpoints = "endpoints.scaled.yml" if scaled else "endpoints.yml"
    public = (f"http://127.0.0.1:{layout.public_port}" if scaled
              else f"http://127.0.0.1:{rasa_ports[0]}")
    programs: list[Program] = []
    if "rasa" in kinds:
        cors = env.get("RASA_CORS_ORIGINS", "").split() or (
            [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"] if not scaled
            else [])
        for number, port in enumerate(rasa_ports, start=1):
            command = [rasa_python, "-m", "rasa_ext.serve", "--enable-api", "--interface",
                       bind, "--port", str(port), "--model", "models", "--endpoints",
                       endpoints, "--credentials", "credentials.yml"]
            if cors:
                command += ["--cors", *cors]
            programs.append(Program(
                f"rasa-{number}", "rasa", command,
                {"ACTION_ENDPOINT_URL": layout.action_endpoint_url},
                health_url=f"http://{bind}:{port}/", startup_grace=240))
    if "actions" in kinds:
        for number, port in enumerate(action_ports, start=1):
            programs.append(Program(
                f"actions-{number}", "actions",
                [app_python, "-m", "bot.action_server", "--host", bind, "--port", str(port)],
                health_url=f"http://{bind}:{port}/health", startup_grace=120))
    if "web" in kinds:
        command = [app_python, "-m", "bot.web", "--host", bind, "--port", str(web_port),
                   "--workers", str(web_workers)]
        if scaled:
            command += ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
        programs.append(Program(
            "web", "web", command,
            {"RASA_PUBLIC_URL": env.get("RASA_PUBLIC_URL", "").strip() or public},
            health_url=f"http://{bind}:{web_port}/health", startup_grace=90))
    if "telegram" in kinds:
        environment = {"RASA_URL": f"http://{layout.rasa_upstreams[0]}" if not scaled
                       else public}
        if layout.telegram_upstream is not None:
            environment.update(TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
                               TELEGRAM_WEBHOOK_PORT=str(telegram_port))
        programs.append(Program("telegram", "telegram",
                                [str(root / ".venv/bin/codesign"), "telegram"], environment))
    if "nginx" in kinds:
        programs.append(Program(
            "nginx", "nginx",
            [env.get("NGINX", "").strip() or "nginx", "-c", str(layout.var / "nginx.conf"),
             "-p", str(layout.var / "nginx"), "-g", "daemon off;"],
            health_url=f"http://{_reachable(layout.public_bind)}:{layout.public_port}/healthz",
            startup_grace=15))
    return programs


def _reachable(address: str) -> str:
    """An address to reach a server listening on ``address`` from this machine."""
    return "127.0.0.1" if address in ("0.0.0.0", "") else address
