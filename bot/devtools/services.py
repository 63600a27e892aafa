"""Restarting this machine's PostgreSQL and Redis, for the fault tests and benchmarks.

Both restart in place with the settings they run with: PostgreSQL through Debian's
``pg_ctlcluster``, Redis by shutting it down (without saving) and starting
``redis-server`` again with the configuration it reported (``CONFIG GET``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


class ServiceControlUnavailable(RuntimeError):
    """This machine's service cannot be restarted from here; the message says why."""


def _wait_port(port: int, up: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if (probe.connect_ex(("127.0.0.1", port)) == 0) == up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not {'open' if up else 'close'} in {timeout:.0f} s")


def restart_postgresql(port: int = 5432) -> float:
    """Restart the local PostgreSQL cluster; returns the seconds it was unavailable.

    Raises:
        ServiceControlUnavailable: no Debian cluster tools or exactly one cluster.
    """
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*")) \
        if Path("/etc/postgresql").is_dir() else []
    if shutil.which("pg_ctlcluster") is None or len(versions) != 1:
        raise ServiceControlUnavailable("restarting PostgreSQL needs Debian's pg_ctlcluster "
                                        "and one cluster under /etc/postgresql")
    started = time.monotonic()
    result = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0],
                             "main", "restart", "--", "-m", "fast"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceControlUnavailable(f"pg_ctlcluster failed: {result.stderr.strip()}")
    _wait_port(port, up=True)
    return time.monotonic() - started


def restart_redis(port: int = 6379, down_for: float = 0.0) -> float:
    """Shut the local Redis down (nothing saved), wait ``down_for`` seconds, start it again
    with the same settings; returns the seconds it was unavailable.

    Raises:
        ServiceControlUnavailable: redis-cli or redis-server is missing, or Redis is not
            answering on ``port``.
    """
    if shutil.which("redis-cli") is None or shutil.which("redis-server") is None:
        raise ServiceControlUnavailable("restarting Redis needs redis-cli and redis-server")
    settings = {}
    for name in ("bind", "dir", "logfile", "save", "appendonly"):
        answer = subprocess.run(["redis-cli", "-p", str(port), "config", "get", name],
                                capture_output=True, text=True, check=False).stdout.splitlines()
        if len(answer) < 2 and name == "bind":
            raise ServiceControlUnavailable(f"Redis is not answering on port {port}")
        settings[name] = answer[1] if len(answer) > 1 else ""
    started = time.monotonic()
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True,
                   check=False)
    _wait_port(port, up=False)
    time.sleep(down_for)
    command = ["redis-server", "--daemonize", "yes", "--port", str(port),
               "--bind", *settings["bind"].split(), "--save", settings["save"],
               "--appendonly", settings["appendonly"] or "no"]
    if settings["dir"]:
        command += ["--dir", settings["dir"]]
    if settings["logfile"]:
        command += ["--logfile", settings["logfile"]]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"redis-server did not start again: {result.stderr or result.stdout}")
    _wait_port(port, up=True)
    return time.monotonic() - started
