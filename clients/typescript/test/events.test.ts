/** `Client.events()` over `/ws` with `ws` as the WebSocket: filters, `since` resume, refusals. */

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";

import { Client, type StreamItem, TasklineError, type TasklineEvent } from "../src/index.js";
import WebSocket from "ws";

import { SERVER, client, gate, unique } from "./support.js";

const api = client();

/** The next event the iterator yields, skipping lagged notices. */
async function nextEvent(events: AsyncGenerator<StreamItem>): Promise<TasklineEvent> {
  for (;;) {
    const item = await events.next();
    assert.ok(!item.done, "the stream ended");
    if (item.value.event !== "lagged") return item.value;
  }
}

/** A TCP relay to the server whose connections the test can cut, as a network drop would. */
async function relay(): Promise<{ url: string; cut: () => void; close: () => void }> {
  const target = new URL(SERVER);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((near) => {
    const far = net.connect(Number(target.port), target.hostname);
    for (const [a, b] of [
      [near, far],
      [far, near],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on("error", () => undefined);
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: () => server.close(),
  };
}

describe("events", () => {
  test("streams what the filters let through, and resumes after `since`", async () => {
    const queue = unique("ev");
    const open = gate();
    const events = api.events({ types: ["task.cancelled"], queue, onOpen: () => open.open() });
    const first = nextEvent(events); // the stream opens on the first next()
    await open.promise;
    const elsewhere = await api.submit("noop", {}, { queue: unique("ev-other") });
    await api.cancel(elsewhere.id); // another queue: filtered out
    const a = await api.submit("noop", {}, { queue });
    await api.cancel(a.id); // task.created filtered out, task.cancelled through
    const seen = await first;
    assert.equal(seen.event, "task.cancelled");
    assert.equal(seen.task?.id, a.id);
    assert.equal(seen.task?.state, "cancelled");
    assert.equal(typeof seen.id, "string");
    await events.return(undefined); // closes the socket

    const b = await api.submit("noop", {}, { queue });
    await api.cancel(b.id);
    const resumed = api.events({ types: ["task.cancelled"], queue, since: seen.id });
    const replayed = await nextEvent(resumed);
    assert.equal(replayed.task?.id, b.id);
    await resumed.return(undefined);
  });

  test("a dropped connection is reopened and resumed after the last event, none lost or repeated", async () => {
    const queue = unique("ev");
    const line = await relay();
    let opens = 0;
    const reopened = gate();
    const firstOpen = gate();
    const events = client({ url: line.url }).events({
      types: ["task.cancelled"],
      queue,
      onOpen: () => (++opens === 1 ? firstOpen.open() : reopened.open()),
    });
    try {
      const first = nextEvent(events);
      await firstOpen.promise;
      const a = await api.submit("noop", {}, { queue });
      await api.cancel(a.id);
      assert.equal((await first).task?.id, a.id);

      line.cut();
      const b = await api.submit("noop", {}, { queue });
      await api.cancel(b.id); // while the stream is down, or just after it came back: either way once
      assert.equal((await nextEvent(events)).task?.id, b.id);
      await reopened.promise;
      const c = await api.submit("noop", {}, { queue });
      await api.cancel(c.id);
      assert.equal((await nextEvent(events)).task?.id, c.id);
      assert.equal(opens, 2);
    } finally {
      await events.return(undefined);
      line.close();
    }
  });

  test("an abort signal ends the iteration", async () => {
    const controller = new AbortController();
    const events = api.events({ queue: unique("ev"), signal: controller.signal, onOpen: () => controller.abort() });
    assert.equal((await events.next()).done, true);
  });

  test("a refused key or a bad `since` throws instead of reconnecting for ever", async () => {
    const stranger = new Client({ url: SERVER, apiKey: "not-a-key", WebSocket });
    await assert.rejects(stranger.events().next(), (error: unknown) => {
      assert.ok(error instanceof TasklineError);
      assert.equal(error.code, "unauthorized");
      return true;
    });
    await assert.rejects(api.events({ since: "not-an-id" }).next(), (error: unknown) => {
      assert.ok(error instanceof TasklineError);
      assert.equal(error.code, "validation_error");
      return true;
    });
  });

  test("without a WebSocket class it says what to pass", () => {
    const bare = new Client({ url: SERVER });
    const had = (globalThis as { WebSocket?: unknown }).WebSocket;
    if (had !== undefined) return; // Node 22+ has one
    assert.throws(() => bare.events(), /WebSocket/);
  });
});
