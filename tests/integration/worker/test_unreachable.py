"""A worker whose server is away keeps trying, and still stops cleanly."""

import asyncio
import logging

from taskline.worker.app import App
from taskline.worker.runner import Worker
from taskline.worker.transport import HttpTransport
from tests.helpers.servers import free_port


class Heard(logging.Handler):
    """Sets `event` when a record containing `text` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.event = asyncio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self.text in record.getMessage():
            self.event.set()


async def test_an_unreachable_server_is_retried_not_fatal() -> None:
    heard = Heard("poll failed")
    logger = logging.getLogger("taskline.worker")
    logger.addHandler(heard)
    transport = HttpTransport(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    worker = Worker(App(), transport, shutdown_timeout_s=1)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(heard.event.wait(), 10)
        worker.stop()
        await asyncio.wait_for(running, 10)
    finally:
        logger.removeHandler(heard)
        await transport.close()

    assert running.exception() is None
    assert any("could not reach" in message for message in heard.messages)
