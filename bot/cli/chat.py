"""``codesign chat``: talk to the running bot from a terminal over Rasa's REST channel."""

from __future__ import annotations

import getpass
import os
import uuid

import httpx
import typer


def chat(
    sender: str = typer.Option(f"terminal-{getpass.getuser()}", help="Conversation id to use."),
    url: str = typer.Option(os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
                            help="Base URL of the Rasa server."),
) -> None:
    """Chat with the bot in this terminal. Type a button's number to press it; Ctrl-D quits."""
    endpoint = f"{url.rstrip('/')}/webhooks/rest/webhook"
    buttons: list[dict[str, str]] = []
    typer.echo("Say hello to start (Ctrl-D to quit).")
    with httpx.Client(timeout=30) as client:
        while True:
            try:
                text = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                typer.echo()
                return
            if not text:
                continue
            if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            body = {"sender": sender, "message": text,
                    "metadata": {"message_id": uuid.uuid4().hex}}
            try:
                response = client.post(endpoint, json=body)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                typer.secho(f"cannot reach the bot at {url}: {exc}", fg=typer.colors.RED, err=True)
                continue
            buttons = []
            for message in response.json():
                if message.get("text"):
                    typer.secho(f"bot> {message['text']}", fg=typer.colors.CYAN)
                for button in message.get("buttons") or []:
                    buttons.append(button)
                    typer.echo(f"     [{len(buttons)}] {button['title']}")
