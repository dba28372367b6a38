/**
 * `Worker` against a live server (run with TASKLINE_LEASE_SECONDS=3, so a heartbeat falls due
 * every second): concurrency, outcomes, heartbeats with progress and cancel, timeouts, the
 * graceful stop that hands tasks back, the worker registry, and backoff when the server is away.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Connection, Fail, Retry, TasklineError, Worker, type WorkerOptions } from "../src/index.js";
import { errorText } from "../src/worker.js";

import { ADMIN_KEY, Recorder, SERVER, WORKER_KEY, client, eventually, gate, unique } from "./support.js";

const api = client();
const admin = new Connection({ url: SERVER, apiKey: ADMIN_KEY });

function worker(queue: string, options: WorkerOptions = {}): Worker {
  return new Worker({ url: SERVER, apiKey: WORKER_KEY, queues: [queue], logger: new Recorder(), ...options });
}

async function registered(workerId: string): Promise<boolean> {
  try {
    await admin.call("GET", `/admin/workers/${encodeURIComponent(workerId)}`);
    return true;
  } catch (error) {
    if (error instanceof TasklineError && error.code === "not_found") return false;
    throw error;
  }
}

// Each test has queues and a worker of its own, and most wait on the server: they run at once.
describe("Worker", { concurrency: true }, () => {
  test("runs up to `concurrency` tasks at once and completes them with their results", async () => {
    const queue = unique("conc");
    let running = 0;
    let most = 0;
    let threeAtOnce = gate();
    const w = worker(queue, {
      concurrency: 3,
      handlers: {
        square: async (payload: { n: number }, ctx) => {
          running += 1;
          most = Math.max(most, running);
          if (running === 3) threeAtOnce.open();
          await threeAtOnce.promise; // each task waits until three run together
          running -= 1;
          if (running === 0) threeAtOnce = gate();
          return { square: payload.n * payload.n, attempt: ctx.attempt, queue: ctx.queue };
        },
      },
    });
    const tasks = await api.submitMany([1, 2, 3, 4, 5, 6].map((n) => ({ type: "square", queue, payload: { n } })));
    const running_ = w.run();
    const done = await Promise.all(tasks.map((task) => api.wait(task.id, { timeout: 20 })));
    assert.deepEqual(
      done.map((task) => [task.state, task.attempts, task.result]),
      [1, 2, 3, 4, 5, 6].map((n) => ["completed", 1, { square: n * n, attempt: 1, queue }]),
    );
    assert.equal(most, 3);
    assert.equal(w.processed, 6);
    w.stop();
    await running_;
  });

  test("reports outcomes in batches that lease the next tasks, so it seldom polls", async () => {
    const queue = unique("batch");
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    const w = worker(queue, { concurrency: 2, fetch: counting, handlers: { echo: (payload) => payload } });
    const tasks = await api.submitMany(Array.from({ length: 20 }, (_, i) => ({ type: "echo", queue, payload: i })));
    const running = w.run();
    for (const task of tasks) assert.equal((await api.wait(task.id, { timeout: 20 })).state, "completed");
    w.stop();
    await running;
    const polls = calls.filter((path) => path === "/api/v1/poll").length;
    const reports = calls.filter((path) => path === "/api/v1/outcomes").length;
    assert.ok(reports >= 1 && reports <= 20, `${reports} reports`);
    assert.ok(polls < 10, `${polls} polls for 20 tasks`);
    assert.equal(calls.filter((path) => path.endsWith("/complete")).length, 0);
  });

  test("Retry, Fail and other errors steer the outcome; retry_after replaces the backoff", async () => {
    // The server runs with TASKLINE_BACKOFF_BASE=600: a retry that comes at once came from retry_after.
    const queue = unique("fail");
    const w = worker(queue, {
      handlers: {
        later: (_payload, ctx) => {
          if (ctx.attempt === 1) throw new Retry("not yet", { after: 0 });
          return "second time";
        },
        never: () => {
          throw new Fail("bad input");
        },
        boom: () => {
          throw new TypeError("boom");
        },
        cyclic: () => {
          const value: Record<string, unknown> = {};
          value["self"] = value;
          return value;
        },
      },
    });
    const [later, never, boom, cyclic] = await api.submitMany([
      { type: "later", queue },
      { type: "never", queue },
      { type: "boom", queue, max_retries: 0 },
      { type: "cyclic", queue },
    ]);
    const running = w.run();
    const retried = await api.wait(later!.id, { timeout: 20 });
    assert.deepEqual([retried.state, retried.attempts, retried.result], ["completed", 2, "second time"]);
    assert.deepEqual(
      retried.errors.map((e) => [e.attempt, e.error]),
      [[1, "not yet"]],
    );
    const failed = await api.wait(never!.id, { timeout: 20 });
    assert.deepEqual([failed.state, failed.attempts, failed.error], ["failed", 1, "bad input"]);
    const boomed = await api.wait(boom!.id, { timeout: 20 });
    assert.deepEqual([boomed.state, boomed.error], ["failed", "TypeError: boom"]);
    const notJson = await api.wait(cyclic!.id, { timeout: 20 });
    assert.equal(notJson.state, "failed");
    assert.match(notJson.error ?? "", /not JSON/);
    w.stop();
    await running;
  });

  test("an error is cut to the server's 65,536 code points, never inside a surrogate pair", async () => {
    // "Error: " is 7 units, so a cut at unit 65,536 would fall inside the 32,765th emoji and leave a
    // lone surrogate, which the server refuses (422): the attempt would be lost to the lease timeout.
    const queue = unique("cut");
    const emoji = "\u{1F600}";
    const w = worker(queue, {
      handlers: {
        emoji: () => {
          throw new Error(emoji.repeat(40000)); // 40,007 code points, 80,007 units: nothing to cut
        },
        long: () => {
          throw new Fail(emoji.repeat(70000)); // past the limit in code points too
        },
        lone: () => {
          throw new Fail("ab\uD83D"); // a lone high surrogate, as a careless cut elsewhere leaves
        },
      },
    });
    const [whole, cut, lone] = await api.submitMany([
      { type: "emoji", queue, max_retries: 0 },
      { type: "long", queue },
      { type: "lone", queue },
    ]);
    const running = w.run();
    const failed = await Promise.all([whole!, cut!, lone!].map((task) => api.wait(task.id, { timeout: 20 })));
    assert.deepEqual(
      failed.map((task) => [task.state, task.attempts]),
      [["failed", 1], ["failed", 1], ["failed", 1]],
    );
    assert.equal(failed[0]!.error, `Error: ${emoji.repeat(40000)}`);
    assert.equal(failed[1]!.error, emoji.repeat(65536));
    assert.equal(failed[2]!.error, "ab\uFFFD");
    w.stop();
    await running;
  });

  test("errorText: code points, well-formed, never empty", () => {
    const emoji = "\u{1F600}";
    assert.equal(errorText(""), "failed");
    assert.equal(errorText("x".repeat(65537)), "x".repeat(65536));
    assert.equal(errorText(`x${emoji.repeat(65536)}`), `x${emoji.repeat(65535)}`);
    assert.equal(errorText(emoji.repeat(40000)), emoji.repeat(40000));
    assert.equal(errorText("a\uDE00b\uD83D"), "a\uFFFDb\uFFFD");
    assert.equal(errorText(`${"\uD83D".repeat(70000)}`), "\uFFFD".repeat(65536));
  });

  test("heartbeats carry progress; a cancel reaches the handler through its signal", async () => {
    const queue = unique("cancel");
    const aborted = gate<string>();
    const w = worker(queue, {
      handlers: {
        long: async (_payload, ctx) => {
          ctx.progress(40);
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          aborted.open(String(ctx.signal.reason));
          return "never reported";
        },
      },
    });
    const task = await api.submit("long", {}, { queue });
    const running = w.run();
    await eventually(async () => (await api.get(task.id)).progress === 40, "progress 40");
    assert.equal((await api.cancel(task.id)).cancel_requested, true);
    assert.match(await aborted.promise, /cancelled/);
    const cancelled = await api.wait(task.id, { timeout: 20 });
    assert.equal(cancelled.state, "cancelled");
    w.stop();
    await running;
  });

  test("heartbeats keep a task's lease past its length", async () => {
    const queue = unique("lease");
    const w = worker(queue, {
      handlers: {
        // Runs until well past the lease it was given (3 s) and the server's notice of an expiry (1 s).
        outlive: async (_payload, ctx) => {
          const leaseEnd = Date.parse(ctx.task.lease.expires_at);
          while (Date.now() < leaseEnd + 1500) await new Promise((resolve) => setTimeout(resolve, 100));
          return "still mine";
        },
      },
    });
    const task = await api.submit("outlive", {}, { queue });
    const running = w.run();
    const done = await api.wait(task.id, { timeout: 20 });
    assert.deepEqual([done.state, done.attempts, done.result, done.errors], ["completed", 1, "still mine", []]);
    w.stop();
    await running;
  });

  test("hears a pause and a resume from the worker registry", async () => {
    const queue = unique("pause");
    const log = new Recorder();
    const w = worker(queue, { logger: log, handlers: { noop: () => "done" } });
    const running = w.run();
    await eventually(() => registered(w.workerId), "the worker to register");
    await admin.call("POST", `/admin/workers/${encodeURIComponent(w.workerId)}/pause`);
    await eventually(async () => log.count("paused; taking no new tasks") === 1, "the worker to hear of the pause");
    const task = await api.submit("noop", {}, { queue }); // the server gives a paused worker's polls nothing
    await admin.call("POST", `/admin/workers/${encodeURIComponent(w.workerId)}/resume`);
    assert.equal((await api.wait(task.id, { timeout: 20 })).result, "done");
    await eventually(async () => log.count("resumed") === 1, "the worker to hear of the resume");
    w.stop();
    await running;
  });

  test("an attempt past its timeout is stopped and fails with `timeout`", async () => {
    const queue = unique("timeout");
    const w = worker(queue, {
      handlers: { slow: (_payload, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", resolve)) },
    });
    const task = await api.submit("slow", {}, { queue, timeout: 0.3, max_retries: 0 });
    const running = w.run();
    const failed = await api.wait(task.id, { timeout: 20 });
    assert.deepEqual([failed.state, failed.error], ["failed", "timeout"]);
    w.stop();
    await running;
  });

  test("stop() hands back what has not finished in time, and the worker leaves the registry", async () => {
    const queue = unique("stop");
    const started = gate();
    const w = worker(queue, {
      shutdownTimeout: 0.2,
      handlers: {
        stuck: (_payload, ctx) => {
          started.open();
          return new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        },
      },
    });
    const listening = gate();
    const events = api.events({ types: ["worker.left"], onOpen: () => listening.open() });
    const left = events.next();
    await listening.promise;
    const task = await api.submit("stuck", {}, { queue });
    const running = w.run();
    await started.promise;
    assert.equal(await registered(w.workerId), true);
    const seen = (await eventually(async () => {
      const workers = await admin.call<{ workers: { id: string; active: number; concurrency: number }[] }>(
        "GET",
        `/admin/workers/${encodeURIComponent(w.workerId)}`,
      );
      return workers.workers[0]!.active === 1 ? workers.workers[0] : null;
    }, "the worker reporting one active task"))!;
    assert.equal(seen.concurrency, 10);

    w.stop();
    await running;
    const handedBack = await api.get(task.id);
    assert.equal(handedBack.state, "pending");
    assert.equal(handedBack.attempts, 0); // a release does not use up the attempt
    assert.equal(await registered(w.workerId), false);
    for (let item = await left; !item.done; item = await events.next()) {
      if (item.value.event === "worker.left" && item.value.worker?.id === w.workerId) break;
    }
    await events.return(undefined);
  });

  test("backs off while the server is away, and still stops", async () => {
    const log = new Recorder();
    const w = new Worker({ url: "http://127.0.0.1:1", logger: log, handlers: { noop: () => null } });
    const began = Date.now();
    const running = w.run();
    await eventually(async () => log.count("poll failed") >= 2, "two failed polls");
    assert.ok(Date.now() - began >= 250, "the second poll waited after the first failed");
    w.stop();
    await running;
    assert.equal(log.count("cannot report to the worker registry"), 1, log.lines.join("\n"));
    assert.equal(log.count("could not say it left"), 1);
  });
});
