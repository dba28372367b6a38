/**
 * What the tests share: the live server they run against (`TASKLINE_SERVER`, required), the keys
 * it knows, fresh queue names so test files running at once never take each other's tasks, and
 * `eventually` for state another process changes.
 */

import { randomUUID } from "node:crypto";
import WebSocket from "ws";

import { Client, type ClientOptions, type Logger } from "../src/index.js";

export const SERVER = required("TASKLINE_SERVER");
/** The admin key (`TASKLINE_API_KEY`), and keys of the other roles: the server runs with keys on. */
export const ADMIN_KEY = required("TASKLINE_API_KEY");
export const PRODUCER_KEY = required("TASKLINE_TEST_PRODUCER_KEY");
export const WORKER_KEY = required("TASKLINE_TEST_WORKER_KEY");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set: the tests run against a live server (see tests/clients)`);
  return value;
}

export function client(options: ClientOptions = {}): Client {
  return new Client({ url: SERVER, apiKey: ADMIN_KEY, WebSocket, ...options });
}

/** A name no other test uses, for a queue or a task type. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Ask `condition` until it returns something truthy (and return that): for state the server changes. */
export async function eventually<T>(condition: () => Promise<T>, what: string, timeoutS = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // paces the asking; the condition is what is waited for
  }
}

/** A logger that keeps what it was told, for tests that check what a worker said. */
export class Recorder implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
  count(fragment: string): number {
    return this.lines.filter((line) => line.includes(fragment)).length;
  }
}

/** A promise and its resolve, for a handler to wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
