"""Simulated machines for tests: Linux network namespaces joined to this one by veth
pairs, and TCP forwarders that let them reach services listening on loopback here.

Each ``Host`` has its own network stack and address (``10.231.<n>.2``); this machine is
``10.231.<n>.1`` on that link. Processes run in a host with ``host.command(...)``; they
share the file system, so each host gets its own var folder to prove nothing relies on a
shared disk. Creating namespaces needs root (CI runs as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import threading
from dataclasses import dataclass


class HostsUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, or no ``ip`` command)."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


@dataclass
class Host:
    """A network namespace linked to this machine.

    Attributes:
        name: the namespace's name.
        number: its link's number (``10.231.<number>.0/24``).
    """

    name: str
    number: int

    @property
    def address(self) -> str:
        """The host's own address."""
        return f"10.231.{self.number}.2"

    @property
    def gateway(self) -> str:
        """This machine's address on the host's link."""
        return f"10.231.{self.number}.1"

    def command(self, *args: str) -> list[str]:
        """``args`` run inside the host."""
        return ["ip", "netns", "exec", self.name, *args]


class Hosts:
    """Creates hosts and removes them (and their links) again.

    Raises:
        HostsUnavailable: from ``add`` when namespaces cannot be made.
    """

    def __init__(self) -> None:
        self.prefix = f"cs{secrets.token_hex(2)}"
        self.hosts: list[Host] = []

    def add(self) -> Host:
        """A new host with its link up and a default route to this machine."""
        if os.geteuid() != 0:
            raise HostsUnavailable("network namespaces need root")
        number = 100 + len(self.hosts) + int(self.prefix[2:], 16) % 100
        host = Host(f"{self.prefix}-{len(self.hosts)}", number)
        outside, inside = f"{self.prefix}o{len(self.hosts)}", f"{self.prefix}i{len(self.hosts)}"
        try:
            _ip("netns", "add", host.name)
        except (RuntimeError, FileNotFoundError) as exc:
            raise HostsUnavailable(str(exc)) from exc
        self.hosts.append(host)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", host.name)
        _ip("addr", "add", f"{host.gateway}/24", "dev", outside)
        _ip("link", "set", outside, "up")
        for args in (("addr", "add", f"{host.address}/24", "dev", inside),
                     ("link", "set", inside, "up"), ("link", "set", "lo", "up"),
                     ("route", "add", "default", "via", host.gateway)):
            _ip("netns", "exec", host.name, "ip", *args)
        return host

    def remove_all(self) -> None:
        """Delete every host (its end of the link goes with it, and so does ours)."""
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True, check=False)
        self.hosts = []


class Forwarder:
    """Forwards TCP connections from ``listen`` addresses to ``target`` (a service that
    listens on loopback here, such as PostgreSQL or Redis), in a background thread."""

    def __init__(self, listen: list[tuple[str, int]], target: tuple[str, int]) -> None:
        self.listen = listen
        self.target = target
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="forwarder")

    def start(self) -> Forwarder:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for host, port in self.listen:
            self._servers.append(self._loop.run_until_complete(
                asyncio.start_server(self._pipe, host, port)))
        self._ready.set()
        self._loop.run_forever()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            with contextlib.suppress(OSError):
                sink.close()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))

    def stop(self) -> None:
        """Stop listening (connections in progress are dropped)."""
        def close() -> None:
            for server in self._servers:
                server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)
        self._thread.join(10)
