/**
 * `followEvents`: `/ws` (SPEC §3) as an async iterator, with reconnects.
 *
 * A dropped connection is reopened with backoff and resumed with `since=<last id yielded>`; a
 * resume may repeat events of that millisecond from other streams, so ids already yielded are
 * skipped. The key goes in `?api_key=` (SPEC §3), since the WebSocket API of browsers and of
 * Node's own `WebSocket` cannot send headers; the server masks it in its logs.
 */

import { type Connection, describe, queryString, sleep } from "./connection.js";
import { TasklineError, isRecord } from "./errors.js";
import type { StreamItem, TasklineEvent } from "./types.js";

/** What the client needs of a WebSocket: the browser's, Node 22's global one, and `ws`'s all fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface EventsOptions {
  /** Event names to receive (`task.completed`, `worker.joined`, …); omitted: all. */
  types?: readonly string[];
  /** Only events of tasks in this queue. */
  queue?: string;
  /** Only events of this task. */
  taskId?: string;
  /** Start after this event id, replaying the kept events after it first. */
  since?: string;
  /** Ends the iteration (it returns; it does not throw). */
  signal?: AbortSignal;
  /** Called each time the stream is open, at first and after a reconnect: events from then on will come. */
  onOpen?: () => void;
}

const BACKOFF_S = [0.1, 0.25, 0.5, 1, 2, 5];
const REMEMBERED = 10_000; // ids kept to skip repeats; a resume repeats at most one millisecond's worth
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_POLICY = 1008;

/** The ids lately yielded, oldest forgotten first, and the last of them. */
class Delivered {
  last: string | undefined;
  private readonly ids = new Set<string>();

  constructor(since: string | undefined) {
    this.last = since;
  }

  firstTime(event: TasklineEvent): boolean {
    if (this.ids.has(event.id)) return false;
    this.ids.add(event.id);
    if (this.ids.size > REMEMBERED) this.ids.delete(this.ids.values().next().value as string);
    this.last = event.id;
    return true;
  }
}

export async function* followEvents(
  connection: Connection,
  WebSocket: WebSocketConstructor,
  options: EventsOptions,
): AsyncGenerator<StreamItem> {
  const signal = options.signal;
  const delivered = new Delivered(options.since);
  let failures = 0;
  let connectedBefore = false;
  while (!signal?.aborted) {
    if (connectedBefore && delivered.last === undefined) {
      // Dropped before any event said where we were: what happened meanwhile is unknown, so
      // say so rather than resume silently from the end.
      yield { event: "lagged", ts: new Date().toISOString() };
    }
    const socket = new Inbox(new WebSocket(socketUrl(connection, options, delivered.last)), signal, options.onOpen);
    try {
      for (let message = await socket.next(); message !== null; message = await socket.next()) {
        const item = parse(message);
        if (item.event === "lagged" || delivered.firstTime(item)) yield item;
      }
    } finally {
      socket.close();
    }
    if (signal?.aborted) return;
    if (socket.opened) {
      failures = 0;
      connectedBefore = true;
      refusedByClose(socket.closeCode, socket.closeReason);
    } else {
      await refusedBeforeOpen(connection, socket.failure);
    }
    try {
      await sleep(BACKOFF_S[Math.min(failures, BACKOFF_S.length - 1)]!, signal);
    } catch {
      return; // aborted while waiting
    }
    failures += 1;
  }
}

export function socketUrl(connection: Connection, options: EventsOptions, since: string | undefined): string {
  const query = queryString({
    events: options.types,
    task_id: options.taskId,
    queue: options.queue,
    since,
    api_key: connection.apiKey,
  });
  return `${connection.url.replace(/^http/, "ws")}/ws${query}`;
}

function parse(message: string): StreamItem {
  const data: unknown = JSON.parse(message);
  if (!isRecord(data) || typeof data["event"] !== "string") {
    throw new TasklineError("unexpected_response", `the event stream sent ${message.slice(0, 200)}`);
  }
  return data as unknown as StreamItem;
}

/** Raise what a close stands for, when reconnecting would not cure it. */
function refusedByClose(code: number | undefined, reason: string): void {
  if (code === CLOSE_UNAUTHORIZED) {
    throw new TasklineError("unauthorized", reason || "the API key was refused", { status: 401 });
  }
  if (code === CLOSE_POLICY && reason && !reason.includes("too many")) {
    throw new TasklineError("validation_error", reason, { status: 422 });
  }
}

/**
 * The server refuses a stream before the upgrade, with an HTTP answer the WebSocket API does
 * not show. `ws` names the status in its error ("Unexpected server response: 401"); a refusal
 * of the key is the likely one otherwise, so the key is checked with an ordinary request.
 */
async function refusedBeforeOpen(connection: Connection, failure: string): Promise<void> {
  const status = Number(/Unexpected server response: (\d{3})/.exec(failure)?.[1] ?? 0);
  if (status === 429 || status >= 500) return;
  if (status >= 400) {
    throw new TasklineError(codeOf(status), `the server refused the event stream (HTTP ${status})`, { status });
  }
  try {
    await connection.call("GET", "/api/v1/whoami", { retries: 0 });
  } catch (error) {
    if (error instanceof TasklineError && (error.status === 401 || error.status === 403)) throw error;
  }
}

function codeOf(status: number): string {
  const codes: Record<number, string> = { 401: "unauthorized", 403: "forbidden", 422: "validation_error" };
  return codes[status] ?? `http_${status}`;
}

/** One WebSocket's messages as a pull-based queue, and how it ended. */
class Inbox {
  opened = false;
  closeCode: number | undefined;
  closeReason = "";
  failure = "";
  private readonly messages: string[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly onAbort = (): void => this.end();

  constructor(
    private readonly socket: WebSocketLike,
    private readonly signal: AbortSignal | undefined,
    onOpen: (() => void) | undefined,
  ) {
    socket.onopen = () => {
      this.opened = true;
      onOpen?.();
    };
    socket.onmessage = (event: { data: unknown }) => {
      this.messages.push(text(event.data));
      this.notify();
    };
    socket.onerror = (event: { message?: unknown; error?: unknown }) => {
      this.failure = typeof event?.message === "string" ? event.message : describe(event?.error);
    };
    socket.onclose = (event: { code?: number; reason?: string }) => {
      this.closeCode = event?.code;
      this.closeReason = event?.reason ?? "";
      this.end();
    };
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** The next message, or null once the socket closed (or the signal aborted) and all were read. */
  async next(): Promise<string | null> {
    for (;;) {
      const message = this.messages.shift();
      if (message !== undefined) return message;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  close(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
    this.end();
    if (this.socket.readyState <= 1) this.socket.close(1000);
  }

  private end(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

function text(data: unknown): string {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data as Uint8Array);
  return String(data);
}
