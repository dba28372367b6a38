"""`Client.workers()` and `AsyncClient.workers()`: the worker registry (`/admin/workers`), over HTTP
on each backend and straight on Redis; `taskline top` shows it."""

from taskline import AsyncClient, Client
from tests.integration.client.conftest import Target


async def test_a_worker_that_polled_is_listed(client: Client, target: Target, queue: str) -> None:
    client.submit("echo", queue=queue)
    target.worker(queue)  # polls as "test-worker", which registers it

    listed = {w.id: w for w in client.workers()}
    async with AsyncClient(target.url) as async_client:
        listed_async = {w.id: w for w in await async_client.workers()}

    assert listed["test-worker"].state.value == "active"
    assert listed_async["test-worker"].id == "test-worker"
