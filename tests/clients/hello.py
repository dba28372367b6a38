"""The Python side of tests/clients/test_shared_batch.py: the `hello` handler as the TypeScript
and Go worker examples write theirs (clients/*/README.md), for `taskline worker tests.clients.hello`."""

from taskline import App

app = App(builtins=False)


@app.task("hello")
async def hello(payload: dict[str, str]) -> dict[str, str]:
    return {"greeting": f"hello {payload['name']}", "by": "python"}
