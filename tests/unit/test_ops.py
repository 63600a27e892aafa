"""The process layouts, their configuration files, the service checks, the watchdog, and
the token guards of Rasa's launcher and the action server."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import socket
import subprocess
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest

from bot.action_server.auth import TokenError, authorised, token_from_env
from bot.ops import layout as layouts
from bot.ops import preflight, render
from bot.ops.layout import LayoutError, Mode
from bot.ops.readiness import wait_until_healthy
from bot.ops.watchdog import Watchdog, Watched, cpu_seconds
from tests.conftest import POSTGRES_ADMIN_URL, ROOT, require_service

TOKEN = "0123456789abcdef0123"


def load_rasa_launcher() -> Any:
    """rasa_ext/serve.py by its path: the package itself imports Rasa (the other venv)."""
    spec = importlib.util.spec_from_file_location("rasa_serve", ROOT / "rasa_ext/serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CODESIGN_VAR_DIR": str(tmp_path), **values}


# ---------------------------------------------------------------------- layouts
def test_the_embedded_default_runs_one_of_each_on_the_usual_ports(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.embedded, env(tmp_path))
    assert [p.name for p in layout.programs] == ["rasa-1", "actions-1", "web"]
    rasa = layout.program("rasa-1")
    assert rasa.command[1:3] == ["-m", "rasa_ext.serve"]
    assert "--enable-api" in rasa.command and "--auth-token" not in rasa.command
    assert rasa.command[rasa.command.index("--interface") + 1] == "127.0.0.1"
    assert rasa.command[rasa.command.index("--endpoints") + 1] == "endpoints.yml"
    assert rasa.environment["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"
    assert layout.program("actions-1").health_url == "http://127.0.0.1:5055/health"
    assert layout.program("web").environment["RASA_PUBLIC_URL"] == "http://127.0.0.1:5005"


def test_the_scaled_mode_puts_several_servers_behind_nginx(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.scaled, env(tmp_path, TELEGRAM_BOT_TOKEN="1:x",
                                                TELEGRAM_MODE="webhook",
                                                TELEGRAM_WEBHOOK_URL="https://b.example/tg"))
    assert [p.name for p in layout.programs] == [
        "rasa-1", "rasa-2", "actions-1", "actions-2", "web", "telegram", "nginx"]
    assert layout.rasa_upstreams == ["127.0.0.1:7101", "127.0.0.1:7102"]
    assert layout.action_upstreams == ["127.0.0.1:7151", "127.0.0.1:7152"]
    assert layout.action_endpoint_url == "http://127.0.0.1:7150/webhook"  # the balancer
    rasa = layout.program("rasa-2")
    assert rasa.command[rasa.command.index("--endpoints") + 1] == "endpoints.scaled.yml"
    assert layout.program("web").command[-5:] == [
        "--workers", "2", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
    telegram = layout.program("telegram")
    assert telegram.environment["TELEGRAM_WEBHOOK_PORT"] == "7190"
    assert telegram.environment["RASA_URL"] == "http://127.0.0.1:8080"  # through nginx
    assert layout.telegram_path == "/tg"


def test_one_machine_of_many_runs_what_it_is_told(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.scaled, env(
        tmp_path, CODESIGN_PROGRAMS="rasa actions", CODESIGN_BIND="10.0.0.2",
        CODESIGN_RASA_PROCESSES="1", CODESIGN_ACTION_PROCESSES="1"))
    assert [p.name for p in layout.programs] == ["rasa-1", "actions-1"]
    assert layout.action_balancer is None  # one action server: Rasa calls it directly
    assert layout.action_endpoint_url == "http://10.0.0.2:7151/webhook"
    assert layout.program("rasa-1").health_url == "http://10.0.0.2:7101/"
    edge = layouts.from_env(Mode.scaled, env(
        tmp_path, CODESIGN_PROGRAMS="nginx web",
        CODESIGN_RASA_UPSTREAMS="10.0.0.2:7101 10.0.0.3:7101"))
    assert edge.rasa_upstreams == ["10.0.0.2:7101", "10.0.0.3:7101"]
    assert [p.name for p in edge.programs] == ["web", "nginx"]


@pytest.mark.parametrize(("values", "message"), [
    ({"CODESIGN_PROGRAMS": "rasa mail"}, "unknown program(s) mail"),
    ({"CODESIGN_RASA_PROCESSES": "0"}, "CODESIGN_RASA_PROCESSES must be a whole number"),
    ({"CODESIGN_PUBLIC_PORT": "http"}, "CODESIGN_PUBLIC_PORT"),
    ({"CODESIGN_RASA_UPSTREAMS": "10.0.0.2"}, "host:port pairs"),
])
def test_a_bad_layout_variable_is_named(tmp_path: Path, values: dict[str, str],
                                        message: str) -> None:
    with pytest.raises(LayoutError, match=message.replace("(", r"\(").replace(")", r"\)")):
        layouts.from_env(Mode.scaled, env(tmp_path, **values))


def test_the_embedded_default_refuses_what_needs_a_load_balancer(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="scaled mode"):
        layouts.from_env(Mode.embedded, env(tmp_path, CODESIGN_RASA_PROCESSES="2"))
    with pytest.raises(LayoutError, match="nginx runs in the scaled mode"):
        layouts.from_env(Mode.embedded, env(tmp_path, CODESIGN_PROGRAMS="rasa nginx"))


# ---------------------------------------------------------------------- rendered files
def test_supervisord_reads_the_configuration(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.scaled, env(tmp_path, RASA_PUBLIC_URL="https://x.example/%7e"))
    render.write(layout)
    conf = tmp_path / "supervisord.conf"
    assert conf.stat().st_mode & 0o777 == 0o600  # it holds the control socket's password
    parser = configparser.RawConfigParser()
    parser.read(conf)
    assert {s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")} \
        == {"rasa-1", "rasa-2", "actions-1", "actions-2", "web", "nginx", "watchdog"}
    # supervisord's own parser accepts it (it expands %(...)s and splits commands).
    from supervisor.options import ServerOptions

    options = ServerOptions()
    options.configfile = str(conf)
    options.process_config(do_usage=False)
    programs = {group.name: group.process_configs[0] for group in options.process_group_configs}
    assert programs["web"].environment["RASA_PUBLIC_URL"] == "https://x.example/%7e"
    assert programs["rasa-1"].command.split()[1:3] == ["-m", "rasa_ext.serve"]
    assert programs["nginx"].stopsignal == 3  # QUIT: finish the requests in flight


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (make setup installs it)")
def test_nginx_accepts_the_configuration_and_exposes_no_rasa_api(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.scaled, env(tmp_path, TELEGRAM_BOT_TOKEN="1:x",
                                                TELEGRAM_MODE="webhook"))
    render.write(layout)
    check = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"),
                            "-p", str(tmp_path / "nginx")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    text = (tmp_path / "nginx.conf").read_text()
    public = text[text.rindex("server {"):]
    locations = sorted(line.split("location", 1)[1].strip(" {")
                       for line in public.splitlines() if line.strip().startswith("location"))
    assert locations == ["/", "/socket.io/", "= /healthz", "= /telegram",
                         "= /webhooks/rest/webhook"]
    assert "hash $socketio_affinity consistent;" in text
    assert "$remote_addr" not in text.split("log_format", 1)[1].split(";", 1)[0]
    assert "listen 127.0.0.1:7150;" in text  # the action balancer: loopback only


# ---------------------------------------------------------------------- service checks
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_missing_postgresql_is_named_with_how_to_get_it() -> None:
    port = free_port()
    with pytest.raises(preflight.ServiceUnavailable) as caught:
        preflight.check_postgres(f"postgresql://codesign:secret-pw@127.0.0.1:{port}/codesign")
    message = str(caught.value)
    assert message.startswith("PostgreSQL is not available at postgresql://codesign:***@")
    assert "apt-get install postgresql" in message and "secret-pw" not in message
    with pytest.raises(preflight.ServiceUnavailable, match="keeps the app store"):
        preflight.check_postgres("sqlite:///var/codesign.db")


def test_a_missing_redis_is_named_with_how_to_get_it() -> None:
    port = free_port()
    with pytest.raises(preflight.ServiceUnavailable,
                       match=f"Redis is not available at 127.0.0.1:{port}.*redis-server"):
        preflight.check_redis(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(preflight.ServiceUnavailable, match="redis://host:6379/0"):
        preflight.check_redis("http://127.0.0.1:6379")


def test_something_else_on_the_redis_port_is_not_taken_for_redis() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                connection.recv(100)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        with pytest.raises(preflight.ServiceUnavailable, match="did not answer like Redis"):
            preflight.check_redis(f"redis://127.0.0.1:{port}/0")


def test_the_real_services_pass_and_a_missing_database_is_created() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        preflight.check_postgres(POSTGRES_ADMIN_URL)
        preflight.check_redis("redis://127.0.0.1:6379/0")
    except preflight.ServiceUnavailable as exc:
        require_service("PostgreSQL and Redis", str(exc))
    name = f"codesign_preflight_{free_port()}"
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with pytest.raises(preflight.ServiceUnavailable, match=f"createdb {name}"):
        preflight.check_postgres(url)
    preflight.check_postgres(url, create=True)
    try:
        preflight.check_postgres(url)
    finally:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# ---------------------------------------------------------------------- watchdog
class FakeSupervisor:
    """supervisord's interface, recording the signals sent."""

    def __init__(self, start: float) -> None:
        self.info = {"actions-1": {"name": "actions-1", "statename": "RUNNING",
                                   "start": start, "pid": 10}}
        self.signals: list[tuple[str, str]] = []

    def getAllProcessInfo(self) -> list[dict[str, Any]]:
        return list(self.info.values())

    def signalProcess(self, name: str, signal: str) -> bool:
        self.signals.append((name, signal))
        return True

    def startProcess(self, name: str, wait: bool = True) -> bool:
        raise xmlrpc.client.Fault(60, "ALREADY_STARTED")


def test_the_watchdog_kills_a_program_that_stopped_answering() -> None:
    now = [1000.0]
    supervisor = FakeSupervisor(start=900.0)
    answers = {"ok": True}
    dog = Watchdog(supervisor, [Watched("actions-1", "http://h/health", 120)],
                   failures=3, probe=lambda url, timeout: answers["ok"], clock=lambda: now[0],
                   cpu=lambda pid: 12.5)  # a stopped process uses no CPU
    assert dog.check_once() == []
    answers["ok"] = False
    assert dog.check_once() == [] and dog.check_once() == []
    assert dog.check_once() == ["actions-1"]
    assert supervisor.signals == [("actions-1", "KILL")]


def test_the_watchdog_waits_out_a_start_but_not_a_relapse() -> None:
    now = [1000.0]
    supervisor = FakeSupervisor(start=990.0)  # started 10 s ago: loading its model
    answers = {"ok": False}
    dog = Watchdog(supervisor, [Watched("actions-1", "http://h/health", 120)],
                   failures=2, probe=lambda url, timeout: answers["ok"], clock=lambda: now[0],
                   cpu=lambda pid: 3.0)
    for _ in range(5):
        assert dog.check_once() == []  # in its start-up grace
    answers["ok"] = True
    assert dog.check_once() == []
    answers["ok"] = False  # it answered once: failures count at once
    assert dog.check_once() == [] and dog.check_once() == ["actions-1"]
    supervisor.info["actions-1"].update(start=1001.0, pid=11)  # restarted: a new grace
    assert [dog.check_once() for _ in range(3)] == [[], [], []]
    supervisor.info["actions-1"]["statename"] = "BACKOFF"
    now[0] += 500
    assert dog.check_once() == []  # not running: supervisord is handling it


def test_the_watchdog_leaves_a_busy_program_alone() -> None:
    """A burst keeps Rasa too busy to answer its health check in time: it is using CPU,
    so it is not killed; once it stops using CPU without answering, it is."""
    supervisor = FakeSupervisor(start=0.0)
    used = [100.0]
    dog = Watchdog(supervisor, [Watched("actions-1", "http://h/health", 120)], failures=2,
                   busy_cpu=0.2, probe=lambda url, timeout: False, clock=lambda: 1000.0,
                   cpu=lambda pid: used[0])
    for _ in range(6):
        used[0] += 4.0  # busy: 4 s of CPU between checks
        assert dog.check_once() == []
    used[0] += 0.05
    assert dog.check_once() == []
    used[0] += 0.05
    assert dog.check_once() == ["actions-1"]
    assert supervisor.signals == [("actions-1", "KILL")]


def test_cpu_seconds_counts_a_process_and_its_children() -> None:
    child = subprocess.Popen(["python3", "-c", "import time\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        time.sleep(1.0)
        own = cpu_seconds(child.pid)
        tree = cpu_seconds(os.getpid())
        assert own is not None and own >= 0.25
        assert tree is not None and tree >= own
    finally:
        child.kill()
        child.wait()
    assert cpu_seconds(child.pid) is None


def test_readiness_reports_the_programs_that_never_answered() -> None:
    answered = {"http://a/": True, "http://b/": False}
    missing = wait_until_healthy({"a": "http://a/", "b": "http://b/"}, timeout=0.3,
                                 probe=lambda url, timeout: answered[url])
    assert missing == ["b"]


# ---------------------------------------------------------------------- token guards
def test_rasa_gets_its_token_from_the_environment_and_loopback_by_default() -> None:
    rasa_arguments = load_rasa_launcher().rasa_arguments
    args = rasa_arguments(["--enable-api", "--port", "5005"], TOKEN)
    assert args[:4] == ["run", "--enable-api", "--port", "5005"]
    assert args[args.index("--auth-token") + 1] == TOKEN
    assert args[args.index("--interface") + 1] == "127.0.0.1"
    assert "--interface" not in rasa_arguments(["--interface", "10.0.0.2"], "")[3:]
    with pytest.raises(SystemExit, match="RASA_AUTH_TOKEN"):
        rasa_arguments(["--enable-api"], "short")
    with pytest.raises(SystemExit, match="not --auth-token"):
        rasa_arguments(["--enable-api", "--auth-token", TOKEN], TOKEN)


def test_the_action_server_token_is_required_and_checked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    with pytest.raises(TokenError, match="ACTION_SERVER_TOKEN"):
        token_from_env()
    monkeypatch.setenv("ACTION_SERVER_TOKEN", TOKEN)
    assert token_from_env() == TOKEN
    assert authorised("/health", None, TOKEN)
    assert authorised("/webhook", f"Bearer {TOKEN}", TOKEN)
    assert authorised("/webhook", f"bearer {TOKEN}", TOKEN)
    for header in (None, "", TOKEN, f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer "):
        assert not authorised("/webhook", header, TOKEN), header
    assert not authorised("/actions", None, TOKEN)
