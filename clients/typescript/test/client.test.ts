/** `Client` against a live server: every producer call, its options, and errors in SPEC's shape. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Client, Connection, TasklineError, WaitTimeoutError } from "../src/index.js";

import { PRODUCER_KEY, SERVER, WORKER_KEY, client, unique } from "./support.js";

const api = client();

async function refusal(promise: Promise<unknown>): Promise<TasklineError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TasklineError, `expected a TasklineError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the server to refuse");
}

describe("submit", () => {
  test("sends every task option as the API names it", async () => {
    const queue = unique("opts");
    const at = new Date(Date.now() + 3_600_000);
    const task = await api.submit(
      "resize",
      { width: 320 },
      {
        queue,
        priority: "high",
        scheduled_at: at,
        max_retries: 7,
        timeout: 12.5,
        unique_key: unique("key"),
        unique_ttl: 600,
        metadata: { from: "typescript" },
        webhook: "https://hooks.invalid/taskline",
      },
    );
    assert.equal(task.state, "scheduled");
    assert.equal(task.queue, queue);
    assert.deepEqual(task.payload, { width: 320 });
    assert.equal(task.priority, 2);
    assert.equal(Date.parse(task.scheduled_at!), at.getTime());
    assert.equal(task.max_retries, 7);
    assert.equal(task.timeout, 12.5);
    assert.equal(task.unique_ttl, 600);
    assert.deepEqual(task.metadata, { from: "typescript" });
    assert.equal(task.webhook, "https://hooks.invalid/taskline");
    assert.equal(task.attempts, 0);

    const delayed = await api.submit("resize", undefined, { queue, delay: 60 });
    assert.equal(delayed.state, "scheduled");
    assert.deepEqual(delayed.payload, {});
    assert.ok(Date.parse(delayed.scheduled_at!) > Date.now() + 30_000);
  });

  test("a unique_key or Idempotency-Key that hits gives the existing task", async () => {
    const queue = unique("idem");
    const key = unique("key");
    const first = await api.submit("noop", { n: 1 }, { queue, unique_key: key });
    const again = await api.submit("noop", { n: 2 }, { queue, unique_key: key });
    assert.equal(again.id, first.id);

    const header = unique("header");
    const a = await api.submit("noop", { n: 1 }, { queue, idempotencyKey: header });
    const b = await api.submit("noop", { n: 1 }, { queue, idempotencyKey: header });
    assert.equal(b.id, a.id);
    const conflict = await refusal(api.submit("noop", { n: 2 }, { queue, idempotencyKey: header }));
    assert.equal(conflict.code, "idempotency_conflict");
    assert.equal(conflict.status, 409);
  });

  test("validation errors carry the SPEC shape: code, message, details naming the field", async () => {
    const error = await refusal(api.submit("noop", {}, { webhook: "ftp://example.invalid/x" }));
    assert.equal(error.status, 422);
    assert.equal(error.code, "validation_error");
    assert.ok(error.message.length > 0);
    assert.ok(Array.isArray(error.details));
    assert.ok(JSON.stringify(error.details).includes("webhook"), JSON.stringify(error.details));
  });
});

describe("submitMany", () => {
  test("submits all in order, or nothing with the failing index named", async () => {
    const queue = unique("bulk");
    const tasks = await api.submitMany([
      { type: "a", queue, payload: { i: 0 } },
      { type: "b", queue, payload: { i: 1 }, priority: "critical" },
      { type: "c", queue, delay: 60 },
    ]);
    assert.deepEqual(
      tasks.map((task) => [task.type, task.state]),
      [
        ["a", "pending"],
        ["b", "pending"],
        ["c", "scheduled"],
      ],
    );
    assert.equal(tasks[1]!.priority, 3);

    const other = unique("bulk");
    const error = await refusal(
      api.submitMany([
        { type: "ok", queue: other },
        { type: "bad", queue: other, max_retries: 1000 },
      ]),
    );
    assert.equal(error.code, "validation_error");
    assert.equal((error.details as { index: number }[])[0]!.index, 1);
    assert.equal((await api.listPage({ queue: other })).tasks.length, 0);
  });
});

describe("reading", () => {
  test("get of an unknown task is 404 not_found", async () => {
    const error = await refusal(api.get("0190f0f0-0000-7000-8000-000000000000"));
    assert.equal(error.status, 404);
    assert.equal(error.code, "not_found");
  });

  test("list pages with the cursor, newest first, filtered", async () => {
    const queue = unique("list");
    const submitted = [];
    for (let i = 0; i < 5; i++) submitted.push((await api.submit("page", { i }, { queue })).id);
    await api.submit("other-type", {}, { queue });
    const newestFirst = submitted.reverse();

    const page = await api.listPage({ queue, type: "page", limit: 2 });
    assert.deepEqual(
      page.tasks.map((task) => task.id),
      newestFirst.slice(0, 2),
    );
    assert.ok(page.next_cursor);
    const next = await api.listPage({ queue, type: "page", limit: 2, cursor: page.next_cursor });
    assert.deepEqual(
      next.tasks.map((task) => task.id),
      newestFirst.slice(2, 4),
    );

    const all = [];
    for await (const task of api.list({ queue, type: "page", state: "pending", pageSize: 2 })) all.push(task.id);
    assert.deepEqual(all, newestFirst);
    const three = [];
    for await (const task of api.list({ queue, type: "page", limit: 3, pageSize: 2 })) three.push(task.id);
    assert.deepEqual(three, newestFirst.slice(0, 3));
  });

  test("stats count every state", async () => {
    const stats = await api.stats();
    assert.deepEqual(Object.keys(stats.states).sort(), [
      "cancelled",
      "completed",
      "failed",
      "pending",
      "retrying",
      "running",
      "scheduled",
    ]);
    assert.equal(typeof stats.total, "number");
    assert.equal(typeof stats.workers, "number");
    const queue = unique("stats");
    await api.submit("noop", {}, { queue });
    const queues = await api.queues();
    assert.equal(queues.find((q) => q.name === queue)?.pending.normal, 1);
  });
});

describe("cancel, retry, wait", () => {
  test("cancel a waiting task; retry it with a new payload; a second cancel is a conflict", async () => {
    const queue = unique("cancel");
    const task = await api.submit("noop", { v: 1 }, { queue });
    const cancelled = await api.cancel(task.id);
    assert.equal(cancelled.state, "cancelled");
    const error = await refusal(api.cancel(task.id));
    assert.equal(error.status, 409);

    const retried = await api.retry(task.id, { payload: { v: 2 } });
    assert.equal(retried.state, "pending");
    assert.deepEqual(retried.payload, { v: 2 });
    await api.cancel(task.id);
    const again = await api.retry(task.id);
    assert.deepEqual(again.payload, { v: 2 });
  });

  test("wait returns a terminal task, and gives up with the task as last seen", async () => {
    const queue = unique("wait");
    const task = await api.submit("noop", {}, { queue });
    await assert.rejects(api.wait(task.id, { timeout: 0.2 }), (error: unknown) => {
      assert.ok(error instanceof WaitTimeoutError);
      assert.equal(error.task.id, task.id);
      assert.equal(error.task.state, "pending");
      return true;
    });
    await api.cancel(task.id);
    assert.equal((await api.wait(task.id, { timeout: 5 })).state, "cancelled");
  });
});

describe("backpressure", () => {
  test("a full queue is 503 queue_full with Retry-After, waited out when retries allow", async () => {
    // The test server runs with TASKLINE_MAX_QUEUE_SIZE=20.
    const queue = unique("full");
    const filled = await api.submitMany(Array.from({ length: 20 }, () => ({ type: "noop", queue })));
    const error = await refusal(client({ retries: 0 }).submit("noop", {}, { queue }));
    assert.equal(error.status, 503);
    assert.equal(error.code, "queue_full");
    assert.equal(typeof error.retryAfter, "number");

    // Room is made as soon as the first refusal is seen: the retry after Retry-After gets in.
    let refusals = 0;
    const watching: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 503 && refusals++ === 0) await api.cancel(filled[0]!.id);
      return response;
    };
    const task = await client({ retries: 1, fetch: watching }).submit("noop", {}, { queue });
    assert.equal(task.state, "pending");
    assert.equal(refusals, 1);
  });
});

describe("API keys", () => {
  test("no key is 401 unauthorized; a role that may not is 403 forbidden", async () => {
    const anonymous = new Client({ url: SERVER, apiKey: "" });
    const unauthorized = await refusal(anonymous.stats());
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.code, "unauthorized");

    const wrong = await refusal(new Client({ url: SERVER, apiKey: "not-a-key" }).stats());
    assert.equal(wrong.code, "unauthorized");

    const producer = new Client({ url: SERVER, apiKey: PRODUCER_KEY });
    const task = await producer.submit("noop", {}, { queue: unique("keys") });
    assert.equal((await producer.get(task.id)).id, task.id);
    const asWorker = await refusal(
      new Connection({ url: SERVER, apiKey: PRODUCER_KEY }).call("GET", "/api/v1/poll?worker_id=x"),
    );
    assert.equal(asWorker.status, 403);
    assert.equal(asWorker.code, "forbidden");

    const worker = new Client({ url: SERVER, apiKey: WORKER_KEY });
    assert.equal((await worker.get(task.id)).id, task.id);
    assert.equal((await refusal(worker.submit("noop"))).code, "forbidden");
  });

  test("an unreachable server is backend_unavailable with status 0", async () => {
    const error = await refusal(new Client({ url: "http://127.0.0.1:1", apiKey: "unused" }).stats());
    assert.equal(error.code, "backend_unavailable");
    assert.equal(error.status, 0);
  });
});
