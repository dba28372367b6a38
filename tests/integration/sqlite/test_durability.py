"""SPEC §8: a `kill -9` loses nothing that was acknowledged."""

import signal
import subprocess
import sys
from pathlib import Path

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.states import TaskState

WRITER = Path(__file__).with_name("writer_process.py")
ACKNOWLEDGED_BEFORE_KILL = 200


def acknowledged_ids_until_killed(db_path: Path) -> list[str]:
    """Start the writer, read ids from its pipe, SIGKILL it mid-stream, and drain the pipe."""
    process = subprocess.Popen([sys.executable, str(WRITER), str(db_path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    with process.stdout as out:
        ids = [out.readline() for _ in range(ACKNOWLEDGED_BEFORE_KILL)]
        process.send_signal(signal.SIGKILL)
        process.wait()
        ids += out.readlines()  # printed before the kill landed: acknowledged too
    assert process.returncode == -signal.SIGKILL
    complete = [line.strip() for line in ids if line.endswith("\n")]
    assert len(complete) >= ACKNOWLEDGED_BEFORE_KILL
    return complete


async def test_a_killed_process_loses_no_acknowledged_submit(db_path: Path) -> None:
    acknowledged = acknowledged_ids_until_killed(db_path)

    backend = await SqliteBackend.open(db_path)
    try:
        missing = [task_id for task_id in acknowledged if await backend.get(task_id) is None]
        counts = await backend.counts()
    finally:
        await backend.close()

    assert missing == []
    # The triggers' counters survive with the rows they count, in the same transactions.
    assert counts[TaskState.PENDING] >= len(acknowledged)
