"""``python -m bench.faults``: every scripted fault of the scaled mode, each in the middle
of the load, with its recovery time.

For each fault the scaled mode (PostgreSQL, Redis, 2 Rasa and 2 action servers, the web
app, the Telegram bridge behind nginx) serves simulated citizens (``bench.load``: REST
and socket.io, typed and pressed answers, service questions, skip, back, pause and
resume, each message sent again with its id when its reply does not come); the fault
strikes ``--strike-after`` seconds in. Printed per fault: the turns, how many messages
had to be sent again (after a transport error or the bot's "send it again" reply), the
longest a message in flight at or sent after the fault waited for its reply, when the
last re-sent message was answered (service restored), when the struck program answered
again, and the store check (every acknowledged answer exactly once, transcripts
complete and in order). The two Telegram faults run Telegram citizens through nginx
(``bot.devtools.telegram_citizens``). Results go to results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from bench.common import write_results
from bench.load import targets
from bench.load.check import check_store
from bench.load.citizen import CitizenRecord, CitizenSettings
from bench.load.scenario import LoadConfig, Target, run_citizens
from bot.devtools import telegram_citizens
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.services import restart_postgresql, restart_redis
from bot.devtools.supervised import SupervisedStack

WEBHOOK_SECRET = "bench-faults-webhook-secret_0123"
Fault = Callable[[SupervisedStack], dict[str, Any]]


def kill(program: str, sig: signal.Signals = signal.SIGKILL) -> Fault:
    """Send ``sig`` to one program; report when it answered again."""
    def strike(stack: SupervisedStack) -> dict[str, Any]:
        started = time.monotonic()
        old = stack.kill(program, sig)
        back = stack.wait_restarted(program, old, timeout=300)
        return {"program_back_after_s": round(time.monotonic() - started, 1),
                "restart_s": round(back, 1)}
    return strike


def restart(service: Callable[[], float]) -> Fault:
    def strike(_stack: SupervisedStack) -> dict[str, Any]:
        return {"service_down_s": round(service(), 1)}
    return strike


LOAD_FAULTS: dict[str, Fault] = {
    "kill -9 rasa-1": kill("rasa-1"),
    "kill -9 actions-1": kill("actions-1"),
    "actions-2 hangs (SIGSTOP)": kill("actions-2", signal.SIGSTOP),
    "restart PostgreSQL": restart(restart_postgresql),
    "restart Redis (down 3 s)": restart(lambda: restart_redis(down_for=3.0)),
}


def recovery(records: list[CitizenRecord], struck: float) -> dict[str, float]:
    """What the citizens saw of a fault that struck at ``struck`` (perf_counter)."""
    samples = [s for r in records for s in r.samples if s.replied_at >= struck]
    waited = max((s.replied_at - max(s.sent_at, struck) for s in samples), default=0.0)
    resent = [s.replied_at - struck for s in samples if s.attempts > 1]
    return {"longest_wait_s": round(waited, 1),
            "restored_after_s": round(max(resent, default=0.0), 1)}


async def _load_with_fault(target: Target, config: LoadConfig, strike_after: float,
                           fault: Fault) -> tuple[list[CitizenRecord], float, dict[str, Any]]:
    load = asyncio.create_task(run_citizens(target.url, config))
    await asyncio.sleep(strike_after)
    struck = time.perf_counter()
    facts = await asyncio.to_thread(fault, target.stack)
    records, _cpu = await load
    return records, struck, facts


def run_load_fault(target: Target, name: str, fault: Fault, config: LoadConfig,
                   strike_after: float) -> dict[str, Any]:
    """One fault in the middle of a load run; prints and returns its figures."""
    records, struck, facts = asyncio.run(_load_with_fault(target, config, strike_after,
                                                          fault))
    check = check_store(target.database_url, target.secret,
                        [record.expectation() for record in records])
    seen = recovery(records, struck)
    figures = {
        "turns": sum(len(r.samples) for r in records),
        "citizens_finished": sum(r.submitted for r in records), "citizens": len(records),
        "resends": sum(r.resends for r in records),
        "unavailable_replies": sum(r.unavailable for r in records),
        "transport_errors": sum(sum(r.transport_errors.values()) for r in records),
        "unrecovered": sum(r.gave_up for r in records),
        **seen, **facts, "store_check": check.as_dict(), "clean": check.clean}
    print(f"== {name}: {figures['citizens_finished']}/{len(records)} citizens finished, "
          f"{figures['turns']} turns; {figures['resends']} messages sent again "
          f"({figures['unavailable_replies']} after the bot's apology, "
          f"{figures['transport_errors']} transport errors, {figures['unrecovered']} given "
          f"up); longest wait {seen['longest_wait_s']} s; service restored "
          f"{seen['restored_after_s']} s after the fault; "
          + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in facts.items())
          + f"; store check {'clean' if check.clean else 'NOT CLEAN: ' + str(check.problems[:3])}")
    return figures


def run_telegram_fault(target: Target, bot_api: FakeTelegram, name: str,
                       fault: Callable[[], object]) -> dict[str, Any]:
    run = telegram_citizens.run_with_fault(f"{target.url}/telegram", WEBHOOK_SECRET,
                                           bot_api, fault)
    figures = {"chats": len(run.chats), "clean": run.clean,
               "first_reply_after_s": round(run.first_reply_after, 1),
               "errors": [str(e) for e in run.errors]}
    print(f"== {name}: {len(run.chats)} Telegram chats; every reply exactly once and in "
          f"order: {'yes' if run.clean else 'NO'}; first reply {figures['first_reply_after_s']}"
          f" s after the fault")
    return figures


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description="Each fault of the scaled mode in the middle of the load, with its "
                    "recovery time and a store check.")
    parser.add_argument("--citizens", type=int, default=60,
                        help="citizens per fault run (default 60)")
    parser.add_argument("--arrival", type=float, default=20.0,
                        help="seconds over which they arrive (default 20)")
    parser.add_argument("--think", type=float, default=3.0,
                        help="most seconds of think time before a message (default 3)")
    parser.add_argument("--strike-after", type=float, default=25.0,
                        help="seconds into the run when the fault strikes (default 25)")
    parser.add_argument("--port-base", type=int, default=6600)
    parser.add_argument("--postgres-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run every fault; 0 when every store check was clean."""
    args = arguments(argv)
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    config = LoadConfig(citizens=args.citizens, arrival=args.arrival, label="faults",
                        settings=CitizenSettings(think=(0.0, args.think)))
    print(f"Faults on the scaled mode, each in the middle of {config.describe()}\n")
    results: dict[str, Any] = {}
    with FakeTelegram() as bot_api:
        public = f"http://127.0.0.1:{args.port_base + 80}"
        telegram = {"TELEGRAM_BOT_TOKEN": bot_api.token,
                    "TELEGRAM_API_BASE_URL": bot_api.base_url, "TELEGRAM_MODE": "webhook",
                    "TELEGRAM_WEBHOOK_URL": f"{public}/telegram",
                    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
        with targets.scaled(args.port_base, args.postgres_url, args.redis_url, 2,
                            **telegram) as target:
            for name, fault in LOAD_FAULTS.items():
                results[name] = run_load_fault(target, name, fault, config,
                                               args.strike_after)
            stack = target.stack
            results["kill -9 the Telegram bridge"] = run_telegram_fault(
                target, bot_api, "kill -9 the Telegram bridge, messages in flight",
                lambda: stack.kill("telegram"))
            results["Bot API 429/500 for 30 s"] = run_telegram_fault(
                target, bot_api, "the Bot API answers 429 and 500 for 30 s",
                lambda: bot_api.fail_for(30))
    write_results("faults", results)
    return 0 if all(r["clean"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
