/**
 * `Worker`: leases tasks over the HTTP API and runs them, up to `concurrency` at once, with the
 * semantics of the Python worker over HTTP (SPEC §3 and §5).
 *
 * It registers in the worker registry and reports itself every second (a pause from
 * `/admin/workers` reaches it within one); long-polls `/api/v1/poll` with `wait` when idle;
 * heartbeats each lease while its handler runs; reports outcomes through `/api/v1/outcomes`,
 * which also leases the next tasks, so a busy worker seldom polls. `stop()` takes no more
 * tasks, lets running ones finish for `shutdownTimeout`, then hands the rest back (release,
 * without using up an attempt) and says it left (`DELETE /api/v1/workers/{id}`).
 */

import { Connection, type ConnectionOptions, describe, sleep } from "./connection.js";
import { Fail, Retry, TasklineError } from "./errors.js";
import { LeaseKeeper, type StopReason } from "./lease.js";
import { type LeaseAsk, MAX_NEXT, type Outcome, Reporter } from "./reporting.js";
import type { LeasedTask } from "./types.js";

/** Called with the task's payload; what it returns (JSON-able) is the result; a throw fails the attempt. */
export type Handler = (payload: any, context: TaskContext) => unknown;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface WorkerOptions extends ConnectionOptions {
  /** Handlers by task type; `handle()` adds more. The worker leases only these types. */
  handlers?: Record<string, Handler>;
  /** Tasks run at once, at most; default 10. */
  concurrency?: number;
  /** Queues to take from; omitted: every queue. */
  queues?: readonly string[];
  /** Default `<host>:<pid>:<random>`. */
  workerId?: string;
  /** Seconds a poll waits for a task on the server; default 30. */
  pollWait?: number;
  /** Seconds `stop()` lets running tasks finish before handing them back; default 30. */
  shutdownTimeout?: number;
  /** Default `console`. */
  logger?: Logger;
}

const BEAT_S = 1;
/** A poll leases at most this many (SPEC §3 `max`). */
const MAX_POLL = 100;
const HAND_BACK_TIMEOUT_S = 10;
const MAX_ERROR_CHARS = 65536;

/** What a handler learns of its task, and how it hears that it should stop. */
export class TaskContext {
  /** The task as leased: its `payload`, `metadata`, `attempts`, `lease`, … */
  readonly task: LeasedTask;
  /**
   * Aborted when the attempt is stopped: its `timeout` ran out, a cancel was requested, the
   * lease was lost, or a shutdown ran out of time. A handler that does I/O passes it on.
   */
  readonly signal: AbortSignal;
  /** The server asked this task to stop (`DELETE` while running). */
  cancelRequested = false;
  private progressValue: number | null = null;

  constructor(
    task: LeasedTask,
    signal: AbortSignal,
    private readonly onProgress: () => void,
  ) {
    this.task = task;
    this.signal = signal;
  }

  get id(): string {
    return this.task.id;
  }

  /** This attempt's number, 1 for the first. */
  get attempt(): number {
    return this.task.attempts;
  }

  get queue(): string {
    return this.task.queue;
  }

  get metadata(): Record<string, unknown> {
    return this.task.metadata;
  }

  /** Report progress, 0-100: sent with a heartbeat right away. */
  progress(percent: number): void {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`progress must be 0-100, not ${percent}`);
    this.progressValue = percent;
    this.onProgress();
  }

  /** The last progress reported, if any. */
  get lastProgress(): number | null {
    return this.progressValue;
  }
}

/** One leased task on this worker. Its slot is free once its outcome is reported and its handler has returned. */
interface Attempt {
  lease: LeasedTask;
  stop: (reason: StopReason) => void;
  reported: Promise<void>;
  reportDone: boolean;
  handlerDone: boolean;
}

export class Worker {
  readonly workerId: string;
  readonly concurrency: number;
  readonly queues: readonly string[];
  readonly pollWait: number;
  readonly shutdownTimeout: number;
  /** Tasks completed and attempts failed since it started. */
  processed = 0;
  failed = 0;
  private readonly connection: Connection;
  private readonly log: Logger;
  private readonly handlers = new Map<string, Handler>();
  private readonly attempts = new Set<Attempt>();
  private readonly releases = new Set<Promise<void>>();
  private readonly reporter: Reporter;
  private readonly stopping = new AbortController();
  private readonly host: string | undefined;
  private started = false;
  private paused = false;
  private reachable = true;
  /** Leases asked for by a poll or a report on its way: their slots are spoken for. */
  private asked = 0;
  private failedPolls = 0;
  private changed: (() => void) | null = null;
  private polling: AbortController | null = null;

  constructor(options: WorkerOptions = {}) {
    // The worker's own pauses and retries decide: a refused request is not waited out in the connection.
    this.connection = new Connection({ ...options, retries: 0 });
    this.concurrency = options.concurrency ?? 10;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError("concurrency must be a whole number of at least 1");
    }
    this.queues = [...(options.queues ?? [])].map((queue) => checkName("queue", queue));
    this.pollWait = options.pollWait ?? 30;
    this.shutdownTimeout = options.shutdownTimeout ?? 30;
    this.log = options.logger ?? console;
    this.host = hostname();
    this.workerId = options.workerId ?? defaultWorkerId(this.host);
    for (const [type, handler] of Object.entries(options.handlers ?? {})) this.handle(type, handler);
    this.reporter = new Reporter(
      this.connection,
      (finishing) => this.nextLeases(finishing),
      (asked, leases) => this.arrived(asked, leases),
    );
  }

  /** Run `handler` for tasks of `type`. */
  handle(type: string, handler: Handler): this {
    if (this.started) throw new Error("add handlers before run()");
    this.handlers.set(checkName("task type", type), handler);
    return this;
  }

  get types(): string[] {
    return [...this.handlers.keys()].sort();
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Begin a graceful shutdown: no new tasks; `run()` resolves once running ones are done or handed back. */
  stop(): void {
    if (this.stopped) return;
    this.stopping.abort();
    this.polling?.abort(); // the server hands back what a poll it could not deliver leased
    this.notify();
  }

  /** Take and run tasks until `stop()`. A worker runs once. */
  async run(): Promise<void> {
    if (this.started) throw new Error("a Worker runs once");
    if (this.handlers.size === 0) throw new Error("no handlers: add one with handle(type, fn)");
    this.started = true;
    this.log.info(
      `worker ${this.workerId}: concurrency ${this.concurrency}, queues ${this.queues.join(",") || "all"}, ` +
        `types ${this.types.join(",")}`,
    );
    const beats = new AbortController();
    await this.beat(); // registered before the first poll
    const beating = this.beatEverySecond(beats.signal);
    try {
      while (!this.stopped) {
        const free = Math.min(this.concurrency - this.attempts.size - this.asked, MAX_POLL);
        if (this.paused || free <= 0) {
          await this.nextChange();
          continue;
        }
        this.asked += free;
        let leases: LeasedTask[];
        try {
          leases = await this.take(free);
        } finally {
          this.asked -= free;
        }
        this.arrived(null, leases); // a poll that answered just as stop() came: those go back unstarted
      }
    } finally {
      this.stop();
      await this.windDown();
      beats.abort();
      await beating;
      await this.leave();
    }
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.changed = resolve;
    });
  }

  /** Wake the loop: a slot came free, leases arrived, a pause ended, or a stop began. */
  private notify(): void {
    const changed = this.changed;
    this.changed = null;
    changed?.();
  }

  /** Up to `free` leases, waiting up to `pollWait` for one; none after a failure (with a pause) or a stop. */
  private async take(free: number): Promise<LeasedTask[]> {
    const polling = new AbortController();
    this.polling = polling;
    try {
      const answer = await this.connection.call<{ tasks: LeasedTask[] } | undefined>("GET", "/api/v1/poll", {
        query: this.leaseQuery({ max: free, wait: this.pollWait }),
        timeout: this.pollWait + 30,
        signal: polling.signal,
      });
      this.failedPolls = 0;
      return answer?.tasks ?? []; // 204: nothing came within `wait`
    } catch (error) {
      if (this.stopped) return [];
      this.failedPolls += 1;
      this.log.warn(`worker ${this.workerId}: poll failed: ${describe(error)}`);
      await sleep(pollPause(this.failedPolls), this.stopping.signal).catch(() => undefined);
      return [];
    } finally {
      this.polling = null;
    }
  }

  private leaseQuery(extra: Record<string, number>): Record<string, string | number | readonly string[]> {
    return { worker_id: this.workerId, types: this.types, queues: this.queues, ...extra };
  }

  private start(lease: LeasedTask): void {
    const attempt: Attempt = {
      lease,
      stop: () => undefined,
      reported: Promise.resolve(),
      reportDone: false,
      handlerDone: false,
    };
    this.attempts.add(attempt);
    attempt.reported = this.execute(attempt)
      .catch((error) => this.log.error(`task ${lease.id}: ${describe(error)}`))
      .finally(() => {
        attempt.reportDone = true;
        this.freeIfDone(attempt);
      });
  }

  private freeIfDone(attempt: Attempt): void {
    // A handler that ignores its signal keeps its slot until it returns: abandoned handlers must not pile up.
    if (attempt.reportDone && attempt.handlerDone && this.attempts.delete(attempt)) this.notify();
  }

  /** Run one leased task and report its outcome. */
  private async execute(attempt: Attempt): Promise<void> {
    const { lease } = attempt;
    const handler = this.handlers.get(lease.type);
    if (handler === undefined) {
      attempt.handlerDone = true;
      await this.fail(lease, `no handler for type ${JSON.stringify(lease.type)}`, true);
      return;
    }
    const abort = new AbortController();
    let stopReason: StopReason | null = null;
    let stopped!: (reason: StopReason) => void;
    const stopping = new Promise<StopReason>((resolve) => {
      stopped = resolve;
    });
    attempt.stop = (reason) => {
      if (stopReason !== null) return;
      stopReason = reason;
      stopped(reason); // first, so the race below sees the stop before the handler's reaction to it
      abort.abort(new Error(`the attempt was stopped: ${reason}`));
    };
    const context = new TaskContext(lease, abort.signal, () => keeper.nudge());
    const keeper = new LeaseKeeper(this.connection, lease, () => context.lastProgress, attempt.stop, this.log);
    const running = (async () => handler(lease.payload, context))().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    void running.then(() => {
      attempt.handlerDone = true;
      this.freeIfDone(attempt);
    });
    // The attempt began when it was leased, a moment ago: timing it here from `timeout` keeps it
    // right whatever the skew between this machine's clock and the server's.
    const deadline = setTimeout(() => attempt.stop("timeout"), lease.timeout * 1000);
    keeper.start();
    const first = await Promise.race([running, stopping]);
    clearTimeout(deadline);
    keeper.stop(); // before the outcome, so no heartbeat races it into a false "lease lost"
    if (typeof first === "string") {
      if (first === "cancelled") context.cancelRequested = true;
      await this.afterStop(lease, first);
    } else if (first.ok) {
      await this.complete(lease, first.value);
    } else if (first.error instanceof Retry) {
      await this.fail(lease, first.error.message, true, first.error.after);
    } else if (first.error instanceof Fail) {
      await this.fail(lease, first.error.message || "failed", false);
    } else {
      await this.fail(lease, describeThrown(first.error), true);
    }
  }

  private async afterStop(lease: LeasedTask, reason: StopReason): Promise<void> {
    switch (reason) {
      case "timeout":
        return this.fail(lease, "timeout", true);
      case "cancelled":
        return this.fail(lease, "cancelled", false);
      case "lost":
        return; // someone else has the task now: nothing of ours may be reported
      case "shutdown":
        return this.release(lease);
    }
  }

  private async complete(lease: LeasedTask, value: unknown): Promise<void> {
    const result = value === undefined ? null : value;
    try {
      JSON.stringify(result);
    } catch (error) {
      await this.fail(lease, `the result is not JSON: ${describe(error)}`, false);
      return;
    }
    await this.report(lease, { id: lease.id, token: lease.lease.token, result });
    this.processed += 1;
  }

  private async fail(lease: LeasedTask, error: string, retry: boolean, retryAfter?: number | null): Promise<void> {
    this.failed += 1;
    const outcome: Outcome = { id: lease.id, token: lease.lease.token, error: errorText(error), retry };
    if (retryAfter !== undefined && retryAfter !== null) outcome.retry_after = retryAfter;
    await this.report(lease, outcome);
  }

  /**
   * Report `outcome`; while the server cannot take it (unreachable, 429, 503), again, until a
   * lease's length has passed. Sending it twice is safe: a repeated `complete` is answered as
   * the first was, and a `fail` that got through before makes the next one a lease_lost.
   */
  private async report(lease: LeasedTask, outcome: Outcome): Promise<void> {
    const giveUpAt = Date.now() + leaseLength(lease) * 1000;
    for (let tries = 1; ; tries++) {
      try {
        const settled = await this.reporter.report(outcome);
        if (settled.error !== undefined) {
          this.log.warn(`task ${lease.id}: its lease was lost before the outcome arrived (${settled.error.code})`);
        }
        return;
      } catch (error) {
        const wait = Math.min(2, 0.1 * 2 ** (tries - 1));
        if (!isTransient(error) || Date.now() + wait * 1000 > giveUpAt) {
          // The lease runs out and the server delivers the task again: nothing is lost.
          this.log.error(`task ${lease.id}: could not report its outcome: ${describe(error)}`);
          return;
        }
        this.log.warn(`task ${lease.id}: could not report its outcome (${describe(error)}); trying again`);
        await sleep(wait);
      }
    }
  }

  private async release(lease: LeasedTask): Promise<void> {
    try {
      await this.connection.call("POST", `/api/v1/tasks/${encodeURIComponent(lease.id)}/release`, {
        body: { token: lease.lease.token },
      });
    } catch (error) {
      // Its lease runs out and the server delivers it again.
      this.log.warn(`task ${lease.id}: could not hand it back: ${describe(error)}`);
    }
  }

  /** What a report of the `finishing` tasks' outcomes asks leased: a slot for each slot free once they are in. */
  private nextLeases(finishing: Set<string>): LeaseAsk | null {
    if (this.stopped || this.paused) return null;
    let held = 0;
    for (const attempt of this.attempts) {
      if (!finishing.has(attempt.lease.id) || !attempt.handlerDone) held += 1;
    }
    const room = Math.min(this.concurrency - held - this.asked, MAX_NEXT);
    if (room <= 0) return null;
    this.asked += room;
    const ask: LeaseAsk = { next: room, worker_id: this.workerId, types: this.types };
    if (this.queues.length > 0) ask.queues = [...this.queues];
    return ask;
  }

  private arrived(asked: LeaseAsk | null, leases: LeasedTask[]): void {
    if (asked !== null) this.asked -= asked.next;
    for (const lease of leases) {
      if (this.stopped) {
        // Asked for before the stop: the shutdown does not run these, so they go back unstarted.
        const releasing = this.release(lease).finally(() => this.releases.delete(releasing));
        this.releases.add(releasing);
      } else {
        this.start(lease);
      }
    }
    this.notify();
  }

  private async windDown(): Promise<void> {
    const unreported = (): Promise<void>[] =>
      [...this.attempts].filter((attempt) => !attempt.reportDone).map((attempt) => attempt.reported);
    if (unreported().length > 0) {
      this.log.info(
        `worker ${this.workerId}: waiting up to ${this.shutdownTimeout} s for ${unreported().length} running tasks`,
      );
      if (!(await within(Promise.all(unreported()), this.shutdownTimeout))) {
        const left = [...this.attempts].filter((attempt) => !attempt.reportDone);
        this.log.warn(`worker ${this.workerId}: handing back ${left.length} unfinished tasks`);
        for (const attempt of left) attempt.stop("shutdown");
        if (!(await within(Promise.all(unreported()), HAND_BACK_TIMEOUT_S))) {
          this.log.error(`worker ${this.workerId}: some tasks were not handed back; their leases will run out`);
        }
      }
    }
    await Promise.all(this.releases);
  }

  /** Report to the worker registry; learn whether this worker is paused. A failure changes nothing. */
  private async beat(): Promise<void> {
    const details: Record<string, unknown> = {
      queues: this.queues,
      types: this.types,
      concurrency: this.concurrency,
      active: this.attempts.size,
      processed: this.processed,
      failed: this.failed,
    };
    if (this.host) details["host"] = this.host.slice(0, 255);
    if (typeof process !== "undefined") details["pid"] = process.pid;
    try {
      const answer = await this.connection.call<{ state: string }>(
        "POST",
        `/api/v1/workers/${encodeURIComponent(this.workerId)}/heartbeat`,
        { body: details, timeout: 10 },
      );
      this.reachable = true;
      const paused = answer.state === "paused";
      if (paused !== this.paused) {
        this.paused = paused;
        this.log.info(`worker ${this.workerId}: ${paused ? "paused; taking no new tasks" : "resumed"}`);
        this.notify();
      }
    } catch (error) {
      if (this.reachable) {
        this.log.warn(`worker ${this.workerId}: cannot report to the worker registry: ${describe(error)}`);
      }
      this.reachable = false;
    }
  }

  private async beatEverySecond(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await sleep(BEAT_S, signal);
      } catch {
        return;
      }
      await this.beat();
    }
  }

  private async leave(): Promise<void> {
    try {
      await this.connection.call("DELETE", `/api/v1/workers/${encodeURIComponent(this.workerId)}`, { timeout: 10 });
    } catch (error) {
      // It drops off the list a minute after its last beat anyway.
      this.log.warn(`worker ${this.workerId}: could not say it left: ${describe(error)}`);
    }
  }
}

/** A name the server takes (SPEC §1), refused here rather than by every poll. */
function checkName(what: string, name: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
    throw new RangeError(`${what} ${JSON.stringify(name)}: 1-128 characters of A-Z a-z 0-9 _ . : -`);
  }
  return name;
}

/** The pause after failed polls in a row: 0.5, 1, 2, 4, then 5 s, each drawn between half and all of it. */
function pollPause(failedPolls: number): number {
  return Math.min(5, 0.5 * 2 ** (failedPolls - 1)) * (0.5 + Math.random() / 2);
}

/** How long the lease runs from its attempt's start, in the server's own times. */
function leaseLength(lease: LeasedTask): number {
  const expires = Date.parse(lease.lease.expires_at);
  const started = lease.started_at ? Date.parse(lease.started_at) : expires;
  return Math.max((expires - started) / 1000, 0);
}

function isTransient(error: unknown): boolean {
  return error instanceof TasklineError && [0, 429, 503].includes(error.status);
}

/** Whether `promise` settled within `seconds`. */
async function within(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), seconds * 1000);
  });
  try {
    return await Promise.race([promise.then(() => true), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  return String(error);
}

/**
 * A fail's `error` as the server takes it: 1 to 65,536 characters, counted as it counts them (code
 * points, not UTF-16 units), and well-formed. A cut by units could split a surrogate pair, and a
 * lone surrogate is not Unicode: the server refuses the report (422) and the attempt is lost to
 * its lease timeout. So the cut is by code points, and a lone surrogate becomes U+FFFD (what
 * `toWellFormed` does). The Go client cuts by runes, the Python worker by characters: one rule.
 */
export function errorText(error: string): string {
  // In a `u` regex a pair is one code point, so \p{Surrogate} matches only the lone ones.
  const text = (error || "failed").replace(/\p{Surrogate}/gu, "\uFFFD");
  if (text.length <= MAX_ERROR_CHARS) return text; // units: at least as many as code points
  let cut = 0;
  let count = 0;
  for (const char of text) {
    if (count === MAX_ERROR_CHARS) break;
    cut += char.length;
    count += 1;
  }
  return text.slice(0, cut);
}

function hostname(): string | undefined {
  try {
    // `getBuiltinModule`, not an import: the package stays loadable where there is no `node:os`.
    return typeof process === "undefined" ? undefined : process.getBuiltinModule?.("node:os")?.hostname();
  } catch {
    return undefined;
  }
}

function defaultWorkerId(host: string | undefined): string {
  const pid = typeof process === "undefined" ? "web" : String(process.pid);
  const random = globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 6);
  return `${host ?? "host"}:${pid}:${random}`;
}
