"""The scaled mode across machines: two simulated hosts (network namespaces with their own
address and var folder) run a Rasa server and an action server each; this machine runs
nginx and the web app and balances over them; PostgreSQL and Redis are reached over the
network. Nothing relies on a shared disk or a shared localhost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.devtools.hosts import Forwarder, Host, Hosts, HostsUnavailable
from bot.devtools.stack import ingest_demo_knowledge, launch_demo
from bot.devtools.supervised import SupervisedStack
from bot.knowledge import index as ix
from bot.ops.layout import Mode
from tests.conftest import fresh_postgres_database, require_service
from tests.e2e.helpers import answers_of
from tests.scaled.citizens import PatientChat
from tests.scaled.conftest import require_scaled_services

pytestmark = pytest.mark.e2e
PORT_BASE, EDGE_PORT = 7400, 8480
RASA_PORT = PORT_BASE + 1


@dataclass
class Machines:
    """The two hosts' stacks and the edge (nginx and the web app on this machine)."""

    hosts: list[Host]
    stacks: list[SupervisedStack]
    edge: SupervisedStack
    database_url: str

    def rasa_url(self, index: int) -> str:
        return f"http://{self.hosts[index].address}:{RASA_PORT}"


def on_host(url: str, host: Host) -> str:
    """A loopback service URL as the host reaches it (through this machine's forwarder)."""
    return make_url(url).set(host=host.gateway).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    require_scaled_services()
    hosts = Hosts()
    forwarders: list[Forwarder] = []
    stacks: list[SupervisedStack] = []
    try:
        try:
            pair = [hosts.add(), hosts.add()]
        except HostsUnavailable as exc:
            require_service("network namespaces", str(exc))
        for port in (5432, 6379):
            forwarders.append(Forwarder([(h.gateway, port) for h in pair],
                                        ("127.0.0.1", port)).start())
        with fresh_postgres_database() as url:
            launch_demo(url)
            for index, host in enumerate(pair):
                stacks.append(SupervisedStack(
                    Mode.scaled, tmp_path_factory.mktemp(f"host{index}"), on_host(url, host), {
                        "CODESIGN_PROGRAMS": "rasa actions", "CODESIGN_BIND": host.address,
                        "CODESIGN_RASA_PROCESSES": "1", "CODESIGN_ACTION_PROCESSES": "1",
                        "CODESIGN_INTERNAL_PORT_BASE": str(PORT_BASE),
                        "REDIS_URL": f"redis://{host.gateway}:6379/3"},
                    launcher=host.command()))
            # The demo knowledge base is ingested on the first host only.
            ingest_demo_knowledge(url, stacks[0].workdir)
            edge = SupervisedStack(Mode.scaled, tmp_path_factory.mktemp("edge"), url, {
                "CODESIGN_PROGRAMS": "web nginx", "CODESIGN_PUBLIC_PORT": str(EDGE_PORT),
                "CODESIGN_INTERNAL_PORT_BASE": str(PORT_BASE),
                "CODESIGN_RASA_UPSTREAMS": " ".join(f"{h.address}:{RASA_PORT}" for h in pair),
                "CODESIGN_WEB_WORKERS": "1"})
            stacks.append(edge)
            starters = [threading.Thread(target=stack.start) for stack in stacks]
            for thread in starters:
                thread.start()
            for thread in starters:
                thread.join()
            for stack in stacks:
                stack.wait_healthy(timeout=60)
            yield Machines(pair, stacks[:2], edge, url)
    finally:
        for stack in stacks:
            stack.stop()
        for forwarder in forwarders:
            forwarder.stop()
        hosts.remove_all()


def test_each_host_has_its_own_address_and_var_folder(machines: Machines) -> None:
    for host, stack in zip(machines.hosts, machines.stacks, strict=True):
        assert {p.name for p in stack.layout.programs} == {"rasa-1", "actions-1"}
        assert stack.layout.bind == host.address
        assert httpx.get(f"http://{host.address}:{PORT_BASE + 51}/health").status_code == 200
    # The second host never ingested anything: its action server built its own copy of
    # the index from the database at start, the same build as the first host's.
    first, second = (ix.current_generation(s.workdir) for s in machines.stacks)
    assert first is not None and second is not None and first.parent != second.parent
    first_stamp, second_stamp = ix.read_stamp(first), ix.read_stamp(second)
    assert first_stamp is not None and second_stamp is not None
    assert first_stamp.fingerprint == second_stamp.fingerprint


def test_a_host_that_never_ingested_answers_from_the_documents(machines: Machines) -> None:
    chat = PatientChat(machines.rasa_url(1))
    reply = chat.say("when is the central library open on saturdays?")
    assert "library" in reply.text.casefold() and "Source" in reply.text, reply.text
    assert (machines.stacks[1].workdir / "knowledge" / "CURRENT").exists()
    # A document ingested later on the first host reaches the second on its next question.
    docs = machines.stacks[0].workdir / "new-docs"
    docs.mkdir()
    (docs / "mobile-library.md").write_text(
        "# Mobile library\n\nThe mobile library van visits Hollin Green every second "
        "Thursday from 2pm to 4pm, parked outside the community hall.\n", encoding="utf-8")
    ingested = machines.stacks[0].codesign("knowledge", "ingest", str(docs),
                                           "--collection", "libraries")
    assert ingested.returncode == 0, ingested.stderr
    reply = chat.say("when does the mobile library van come to Hollin Green?")
    assert "second Thursday" in reply.text, reply.text


def test_citizens_through_nginx_are_served_by_both_hosts(machines: Machines) -> None:
    chats = [PatientChat(f"http://127.0.0.1:{EDGE_PORT}") for _ in range(6)]

    def take_part(chat: PatientChat) -> None:
        chat.say("hello")
        chat.press("library")
        chat.press("Yes, I agree")
        chat.say("a few times a year")

    threads = [threading.Thread(target=take_part, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for chat in chats:
        assert answers_of(machines.database_url, chat.sender)["visits"] == \
            ("answered", "A few times a year")
    time.sleep(6)  # nginx flushes its access log every 5 s
    log = (machines.edge.workdir / "logs" / "nginx-access.log").read_text()
    served = {line.split()[-1] for line in log.splitlines() if "/webhooks/rest/" in line}
    assert served == {f"{h.address}:{RASA_PORT}" for h in machines.hosts}


def test_when_a_host_dies_its_citizens_carry_on_on_the_other(machines: Machines) -> None:
    chats = [PatientChat(f"http://127.0.0.1:{EDGE_PORT}") for _ in range(4)]
    for chat in chats:
        chat.say("hello")
        chat.press("library")
        chat.press("Yes, I agree")
    first = machines.stacks[0]
    old = first.kill("rasa-1")
    for chat in chats:
        assert "Question 2 of" in chat.say("weekly").text
    for chat in chats:
        chat.press("Evenings")
        assert "Question 3 of" in chat.press("Done").text
    for chat in chats:
        answers = answers_of(machines.database_url, chat.sender)
        assert answers["visits"] == ("answered", "Weekly or more")
        assert answers["preferred_times"] == ("answered", ["Evenings (after 6pm)"])
    refused = sum(chat.refused for chat in chats)
    print(f"host 1's Rasa killed: {refused} messages had to be sent again")
    first.wait_restarted("rasa-1", old)

