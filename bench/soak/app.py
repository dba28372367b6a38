"""The soak's task: the README's plain `def` handler, doing next to nothing, so what is measured
is Taskline's own cost and memory, not the handler's."""

import taskline

app = taskline.App()


@app.task("soak")
def soak(payload: dict[str, int]) -> int:
    return payload.get("n", 0)
