/**
 * `Client`: submit, read and manage tasks over Taskline's HTTP API (SPEC §3), and follow its
 * events over `/ws`.
 */

import { Connection, type ConnectionOptions, sleep } from "./connection.js";
import { WaitTimeoutError } from "./errors.js";
import { type EventsOptions, type WebSocketConstructor, followEvents } from "./events.js";
import {
  type QueueStats,
  type Stats,
  type StreamItem,
  TERMINAL_STATES,
  type Task,
  type TaskOptions,
  type TaskPage,
  type TaskSpec,
  type TaskState,
} from "./types.js";

export interface ClientOptions extends ConnectionOptions {
  /** The WebSocket class `events()` uses; default `globalThis.WebSocket` (Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
}

export interface SubmitOptions extends TaskOptions {
  /** Sent as the `Idempotency-Key` header: acts as `unique_key`; the same key with another body is 409. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface ListFilter {
  state?: TaskState;
  type?: string;
  queue?: string;
  /** `live` (default), or `history`: PostgreSQL history (the server needs TASKLINE_POSTGRES_URL). */
  source?: "live" | "history";
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Seconds to wait in all before `WaitTimeoutError`; default 60. */
  timeout?: number;
  /** Seconds between the first looks; it grows to 1 s for long tasks. Default 0.05. */
  interval?: number;
  signal?: AbortSignal;
}

const MAX_PAGE = 500;

export class Client {
  readonly connection: Connection;
  private readonly WebSocket: WebSocketConstructor | undefined;

  constructor(options: ClientOptions = {}) {
    this.connection = new Connection(options);
    this.WebSocket = options.WebSocket;
  }

  get url(): string {
    return this.connection.url;
  }

  /** Submit one task: 201 a new one, or the existing task when `unique_key`/`idempotencyKey` hits. */
  async submit(type: string, payload?: unknown, options: SubmitOptions = {}): Promise<Task> {
    const { idempotencyKey, signal, ...fields } = options;
    const headers: Record<string, string> = idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey };
    const body = wireSpec({ type, ...(payload === undefined ? {} : { payload }), ...fields });
    return this.connection.call<Task>("POST", "/api/v1/tasks", { body, headers, signal });
  }

  /** Submit 1-1000 tasks all or nothing; the tasks in the order given. */
  async submitMany(specs: readonly TaskSpec[], options: { signal?: AbortSignal } = {}): Promise<Task[]> {
    const body = specs.map((spec) => wireSpec({ ...spec }));
    const answer = await this.connection.call<{ tasks: Task[] }>("POST", "/api/v1/tasks/bulk", {
      body,
      signal: options.signal,
    });
    return answer.tasks;
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<Task> {
    return this.connection.call<Task>("GET", `/api/v1/tasks/${encodeURIComponent(id)}`, options);
  }

  /** One page of tasks, newest first: pass its `next_cursor` as `cursor` for the next. */
  async listPage(filter: ListFilter & { limit?: number; cursor?: string | null } = {}): Promise<TaskPage> {
    const { signal, ...query } = filter;
    return this.connection.call<TaskPage>("GET", "/api/v1/tasks", { query, signal });
  }

  /**
   * Tasks newest first, following `next_cursor` page by page; `limit` caps how many in all.
   *
   * ```ts
   * for await (const task of client.list({ state: "failed", limit: 20 })) console.log(task.id);
   * ```
   */
  async *list(filter: ListFilter & { limit?: number; pageSize?: number } = {}): AsyncGenerator<Task> {
    const { limit, pageSize = 100, ...rest } = filter;
    let left = limit ?? Infinity;
    let cursor: string | null = null;
    while (left > 0) {
      const size = Math.min(pageSize, MAX_PAGE, left);
      const page: TaskPage = await this.listPage({ ...rest, limit: size, cursor });
      for (const task of page.tasks.slice(0, left)) yield task;
      left -= page.tasks.length;
      if (page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }

  /** Cancel: a waiting task is cancelled; a running one gets `cancel_requested` (SPEC §2). 409 if terminal. */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<Task> {
    return this.connection.call<Task>("DELETE", `/api/v1/tasks/${encodeURIComponent(id)}`, options);
  }

  /** Re-run a failed or cancelled task, with a new payload if `payload` is given. */
  async retry(id: string, options: { payload?: unknown; signal?: AbortSignal } = {}): Promise<Task> {
    const body = "payload" in options ? { payload: options.payload } : undefined;
    return this.connection.call<Task>("POST", `/api/v1/tasks/${encodeURIComponent(id)}/retry`, {
      body,
      signal: options.signal,
    });
  }

  /**
   * The task once it is completed, failed or cancelled.
   *
   * @throws WaitTimeoutError it was not terminal within `timeout` seconds.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Task> {
    const timeout = options.timeout ?? 60;
    const deadline = Date.now() + timeout * 1000;
    let interval = options.interval ?? 0.05;
    for (;;) {
      const task = await this.get(id, { signal: options.signal });
      if (TERMINAL_STATES.includes(task.state)) return task;
      const remaining = (deadline - Date.now()) / 1000;
      if (remaining <= 0) throw new WaitTimeoutError(task, timeout);
      await sleep(Math.min(interval, remaining), options.signal);
      interval = Math.min(interval * 1.5, 1);
    }
  }

  /** `{"states": {each state: n}, "total", "workers"}`. */
  async stats(options: { signal?: AbortSignal } = {}): Promise<Stats> {
    return this.connection.call<Stats>("GET", "/api/v1/stats", options);
  }

  /** Every queue's depth per priority and its counts per state. */
  async queues(options: { signal?: AbortSignal } = {}): Promise<QueueStats[]> {
    return (await this.connection.call<{ queues: QueueStats[] }>("GET", "/api/v1/queues", options)).queues;
  }

  /**
   * The live events (`/ws`), until `signal` aborts or the loop breaks:
   *
   * ```ts
   * for await (const item of client.events({ types: ["task.completed"] })) {
   *   if (item.event === "lagged") continue; // events were dropped or are gone
   *   console.log(item.id, item.event, item.task?.id);
   * }
   * ```
   *
   * A dropped connection is reopened by itself and resumed after the last event yielded; pass
   * an event's `id` as `since` to resume there later (the events after it that the server
   * still keeps are replayed first).
   *
   * @throws TasklineError `unauthorized`/`forbidden` (the key), `validation_error` (the filter
   *   or `since`), as the server refuses them.
   */
  events(options: EventsOptions = {}): AsyncGenerator<StreamItem> {
    const WebSocket = this.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocket === undefined) {
      throw new TypeError("no WebSocket class: pass one as the client's `WebSocket` option (in Node 20, `ws`'s)");
    }
    return followEvents(this.connection, WebSocket, options);
  }
}

/** A spec as the API takes it: a `Date` for `scheduled_at` becomes its RFC 3339 string. */
function wireSpec(spec: TaskSpec): Record<string, unknown> {
  const { scheduled_at, ...rest } = spec;
  if (scheduled_at === undefined) return rest;
  return { ...rest, scheduled_at: scheduled_at instanceof Date ? scheduled_at.toISOString() : scheduled_at };
}
