/** `Client.events()` over `/ws` with `ws` as the WebSocket: filters, `since` resume, refusals. */

import assert from "node:assert/strict";
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
