"""A producer for the durability test: submits tasks forever, printing each acknowledged id.

Run as `python writer_process.py DB_PATH`. Several submitters run at once so that group
commit batches them; an id is printed (and flushed) only after its submit returned, so every
printed id was acknowledged, exactly like a 201 the API would have sent.
"""

import asyncio
import sys

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.spec import TaskSpec

SUBMITTERS = 8


async def submit_forever(backend: SqliteBackend, submitter: int) -> None:
    n = 0
    while True:
        (submitted,) = await backend.submit([TaskSpec(type="durable", payload={"submitter": submitter, "n": n})])
        sys.stdout.write(submitted.task.id + "\n")
        sys.stdout.flush()  # one short write(2) per line: a kill never leaves half an id behind
        n += 1


async def main(path: str) -> None:
    backend = await SqliteBackend.open(path)
    await asyncio.gather(*(submit_forever(backend, i) for i in range(SUBMITTERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
