"""Writing a layout's configuration files: supervisord's, nginx's and the watchdog's list."""

from __future__ import annotations

import getpass
import grp
import hashlib
import json
import os
import pwd
import secrets
import shlex
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.ops.layout import Layout


def _supervisor_quote(argument: str) -> str:
    """A command-line word as supervisord reads it (shell quoting; ``%`` expands)."""
    return shlex.quote(argument).replace("%", "%%")


def _supervisor_env(value: str) -> str:
    """A value inside ``environment=KEY="value"`` (no quotes inside; ``%`` expands)."""
    if '"' in value or "\n" in value:
        raise ValueError(f"a program setting cannot contain quotes or newlines: {value!r}")
    return value.replace("%", "%%")


def _templates() -> Environment:
    environment = Environment(loader=PackageLoader("bot.ops", "templates"),
                              undefined=StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)
    environment.filters["supervisor_quote"] = _supervisor_quote
    environment.filters["supervisor_env"] = _supervisor_env
    return environment


def supervisord_conf(layout: Layout, password: str) -> str:
    """The text of ``var/supervisord.conf`` for ``layout``; ``password`` guards
    supervisord's control socket (with the socket's owner-only mode)."""
    return _templates().get_template("supervisord.conf.j2").render(
        layout=layout, var=layout.var, root=layout.root, password=password,
        user=getpass.getuser(),
        config=layout.var / "supervisord.conf")


@dataclass(frozen=True)
class NginxUser:
    """Who nginx's worker processes run as, and where they buffer request bodies.

    Started by an ordinary user, nginx runs as that user and buffers under ``var/nginx``.
    Started by root, its workers run as ``nobody``, which may not be able to reach the
    var folder (``/root/…`` is private): their buffers then live in a folder of their own
    under the system's temporary folder.
    """

    user: str | None
    temp: Path

    @classmethod
    def for_layout(cls, layout: Layout) -> NginxUser:
        if os.geteuid() != 0:
            return cls(None, layout.var / "nginx")
        nobody = pwd.getpwnam("nobody")
        name = hashlib.sha256(str(layout.var).encode()).hexdigest()[:12]
        return cls(f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}",
                   Path(tempfile.gettempdir()) / f"codesign-nginx-{name}")

    def prepare(self) -> None:
        """Create the buffer folder, owned by the workers' user when that is not us."""
        self.temp.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.user is not None:
            nobody = pwd.getpwnam(self.user.split()[0])
            os.chown(self.temp, nobody.pw_uid, nobody.pw_gid)


def nginx_conf(layout: Layout, workers: NginxUser) -> str:
    """The text of ``var/nginx.conf`` for ``layout``."""
    return _templates().get_template("nginx.conf.j2").render(
        layout=layout, var=layout.var, user=workers.user, temp=workers.temp)


def programs_json(layout: Layout, password: str) -> str:
    """What the watchdog checks: each program's name, health URL and start-up grace, and
    how to reach supervisord."""
    return json.dumps({"supervisor": {"socket": str(layout.var / "supervisor.sock"),
                                      "username": "codesign", "password": password},
                       "programs": [{k: v for k, v in asdict(p).items()
                                     if k in ("name", "kind", "health_url", "startup_grace")}
                                    for p in layout.programs]}, indent=2)


def write(layout: Layout) -> list[Path]:
    """Write every configuration file of ``layout`` under its var folder and create the
    folders its programs write to. The files that hold the control socket's password are
    readable by their owner only; the programs' secrets are never written here (they
    reach the programs through the environment).

    Returns:
        The files written.
    """
    (layout.var / "logs").mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(16)  # new at each start; only these two files hold it
    private = {layout.var / "supervisord.conf": supervisord_conf(layout, password),
               layout.var / "programs.json": programs_json(layout, password)}
    files = dict(private)
    if any(p.kind == "nginx" for p in layout.programs):
        (layout.var / "nginx").mkdir(exist_ok=True)
        workers = NginxUser.for_layout(layout)
        workers.prepare()
        files[layout.var / "nginx.conf"] = nginx_conf(layout, workers)
    for path, text in files.items():
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(0o600 if path in private else 0o644)
        temporary.replace(path)
    return list(files)
