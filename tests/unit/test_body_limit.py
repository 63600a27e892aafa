"""Request bodies above the cap are refused before any route reads them."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web.body_limit import BodySizeLimitMiddleware


def _echo_app() -> FastAPI:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = FastAPI(routes=[Route("/small", echo, methods=["POST"]),
                          Route("/upload", echo, methods=["POST"])])
    app.add_middleware(BodySizeLimitMiddleware, default=100, by_path={"/upload": 1000})
    return app


def _chunks(total: int, size: int = 64) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_declared_lengths_over_the_path_cap_get_413() -> None:
    with TestClient(_echo_app()) as client:
        assert client.post("/small", content=b"x" * 100).text == "100"
        assert client.post("/small", content=b"x" * 101).status_code == 413
        assert client.post("/upload", content=b"x" * 1000).text == "1000"
        assert client.post("/upload", content=b"x" * 1001).status_code == 413


def test_a_chunked_body_is_stopped_once_it_passes_the_cap() -> None:
    with TestClient(_echo_app()) as client:
        assert client.post("/small", content=_chunks(90)).text == "90"
        assert client.post("/small", content=_chunks(5000)).status_code == 413


def test_anonymous_uploads_to_the_review_area_are_refused_unread(anonymous: TestClient) -> None:
    big = {"file": ("c.yml", b"a" * (2 * 1024 * 1024), "text/yaml")}
    response = anonymous.post("/review/admin/consultations", files=big,
                              follow_redirects=False)
    assert response.status_code == 413
    assert "too large" in response.text
    # The knowledge upload form has its own, larger cap (still signed-in admins only).
    response = anonymous.post("/review/admin/knowledge", files=big, follow_redirects=False)
    assert response.status_code != 413
