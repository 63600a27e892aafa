"""Stream what a writer function writes to a file as an HTTP response body.

The exports (``bot.export``) write to a file object in batches. ``stream_writer`` runs
such a writer in a thread of its own, with its own database session, and hands the
bytes to the response in chunks through a small bounded queue: the writer waits while
the client is slow, so memory stays flat however large the export.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

CHUNK = 64 * 1024
QUEUE_CHUNKS = 8
#: A writer whose client stopped reading gives up after this long.
IDLE_LIMIT = 120.0
_DONE = object()


class _Cancelled(Exception):
    """The client went away: stop writing."""


class _QueueFile(io.RawIOBase):
    """A write-only, non-seekable file that passes its bytes to a queue in chunks."""

    def __init__(self, chunks: queue.Queue[Any], stopped: threading.Event) -> None:
        super().__init__()
        self.chunks = chunks
        self.stopped = stopped
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # bytes-like
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush_chunk()
        return len(data)

    def flush_chunk(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = bytes(self.buffer), bytearray()
        waited = 0.0
        while True:
            if self.stopped.is_set():
                raise _Cancelled
            try:
                self.chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                waited += 0.5
                if waited >= IDLE_LIMIT:
                    raise _Cancelled from None


def stream_writer(write: Callable[[Any], object], *, text: bool) -> Iterator[bytes]:
    """Run ``write(file)`` in a thread and yield what it writes, in chunks.

    Args:
        write: writes the whole body to the file it is given (and opens whatever it
            needs, such as a database session, itself: it runs in another thread).
        text: give ``write`` a UTF-8 text file (otherwise a binary one, not seekable).

    Yields:
        The body in chunks of about 64 KiB. An error in the writer ends the stream early
        (the client sees a truncated body) and is raised here.
    """
    chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_CHUNKS)
    stopped = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        raw = _QueueFile(chunks, stopped)
        try:
            if text:
                wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="",  # type: ignore[type-var]
                                           write_through=True)
                write(wrapper)
                wrapper.flush()
                wrapper.detach()
            else:
                write(raw)
            raw.flush_chunk()
        except _Cancelled:
            return
        except BaseException as error:  # handed to the consumer
            failure.append(error)
        finally:
            while not stopped.is_set():
                try:
                    chunks.put(_DONE, timeout=0.5)
                    break
                except queue.Full:
                    continue

    worker = threading.Thread(target=run, name="export-stream", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=1.0)
            except queue.Empty:
                if not worker.is_alive() and chunks.empty():
                    break
                continue
            if item is _DONE:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stopped.set()
        started = time.monotonic()
        while worker.is_alive() and time.monotonic() - started < 5:
            worker.join(timeout=0.1)
