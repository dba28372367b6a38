/**
 * `Connection`: requests to a Taskline server with `fetch`, shared by `Client` and `Worker`, so
 * both read error answers, Retry-After and an unreachable server the same way.
 */

import { TasklineError, errorFromResponse } from "./errors.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";
/** A Retry-After longer than this is not waited out: the caller hears of it instead. */
const MAX_RETRY_AFTER_S = 30;

export interface ConnectionOptions {
  /** The server, `http(s)://host:port`; default `TASKLINE_SERVER`, else `http://127.0.0.1:8080`. */
  url?: string;
  /** Sent as `Authorization: Bearer`; default `TASKLINE_API_KEY`. */
  apiKey?: string;
  /** Seconds one request may take (a long poll gets its `wait` on top); default 30. */
  timeout?: number;
  /** How many times a 429, or a 503 with Retry-After, is tried again after waiting as told; default 3. */
  retries?: number;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Seconds, instead of the connection's. */
  timeout?: number;
  /** Instead of the connection's `retries`. */
  retries?: number;
}

/** A `TASKLINE_*` variable where there is a `process` (Node), else undefined (a browser). */
export function fromEnv(name: string): string | undefined {
  const value = typeof process === "undefined" ? undefined : process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

export class Connection {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly timeout: number;
  readonly retries: number;
  private readonly fetch: typeof fetch;

  constructor(options: ConnectionOptions = {}) {
    this.url = (options.url ?? fromEnv("TASKLINE_SERVER") ?? DEFAULT_SERVER).replace(/\/+$/, "");
    if (!/^https?:\/\//.test(this.url)) {
      throw new TypeError(`the server must be an http(s):// URL, not ${JSON.stringify(this.url)}`);
    }
    this.apiKey = options.apiKey ?? fromEnv("TASKLINE_API_KEY");
    this.timeout = options.timeout ?? 30;
    this.retries = options.retries ?? 3;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * One call: the decoded JSON answer (undefined for an empty one, a 204), after waiting out
   * up to `retries` refusals that say when to come back (429, 503 with Retry-After).
   *
   * @throws TasklineError the server's error answer; or `backend_unavailable` with status 0 when
   *   no answer came (the server unreachable, or the request's time ran out).
   * @throws the `signal`'s reason when the caller aborted.
   */
  async call<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const retries = options.retries ?? this.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, options);
      } catch (error) {
        const pause = error instanceof TasklineError ? retryPause(error, attempt, retries) : null;
        if (pause === null) throw error;
        await sleep(pause, options.signal);
      }
    }
  }

  private async once<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (this.apiKey) headers["Authorization"] = `Bearer ${this.apiKey}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const timeoutMs = (options.timeout ?? this.timeout) * 1000;
    const timer = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
    const target = this.url + path + queryString(options.query);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(target, { method, headers, body, signal });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const why = timer.aborted ? `no answer within ${timeoutMs / 1000} s` : describe(error);
      throw new TasklineError("backend_unavailable", `could not reach ${this.url}: ${why}`, {}, { cause: error });
    }
    let data: unknown = undefined;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok) {
          throw new TasklineError("unexpected_response", `the server answered ${response.status} with no JSON`, {
            status: response.status,
          });
        }
      }
    }
    if (!response.ok) throw errorFromResponse(response.status, data, response.headers.get("Retry-After"));
    return data as T;
  }
}

/** Seconds to wait before trying again, or null when the caller should hear of `error`. */
function retryPause(error: TasklineError, attempt: number, retries: number): number | null {
  if (attempt >= retries || error.retryAfter === null || error.retryAfter > MAX_RETRY_AFTER_S) return null;
  return error.status === 429 || error.status === 503 ? error.retryAfter : null;
}

export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(name, value.join(","));
    } else {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Resolves after `seconds`, or rejects with the signal's reason once it aborts. */
export function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, seconds * 1000);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
