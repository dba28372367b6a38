/**
 * Errors as a caller sees them. Every refusal from the server is a `TasklineError` carrying
 * SPEC's error shape (`code`, `message`, `details`) with the HTTP status and Retry-After;
 * `WaitTimeoutError` is `wait()` giving up; `Retry` and `Fail` are what a worker's handler
 * throws to steer its task's outcome.
 */

import type { Task } from "./types.js";

export interface ErrorFields {
  /** The HTTP status; 0 when no answer came (the server could not be reached). */
  status?: number;
  /** SPEC's `details`: for a 422, a list naming each field. */
  details?: unknown;
  /** Seconds the server asked to wait (`Retry-After`), if it said. */
  retryAfter?: number | null;
}

/**
 * An error answer of the server, `{"error": {"code", "message", "details"}}`, or a request that
 * got no answer (`code` `backend_unavailable`, `status` 0, as the Python client says it).
 */
export class TasklineError extends Error {
  /** SPEC's snake_case code: `not_found`, `lease_lost`, `validation_error`, `queue_full`, … */
  readonly code: string;
  readonly details: unknown;
  readonly status: number;
  readonly retryAfter: number | null;

  constructor(code: string, message: string, fields: ErrorFields = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TasklineError";
    this.code = code;
    this.status = fields.status ?? 0;
    this.details = fields.details ?? null;
    this.retryAfter = fields.retryAfter ?? null;
  }
}

/** `Client.wait()` gave up before the task reached a terminal state; `task` is how it was last seen. */
export class WaitTimeoutError extends Error {
  readonly task: Task;

  constructor(task: Task, timeout: number) {
    super(`task ${task.id} is still ${task.state} after ${timeout} s`);
    this.name = "WaitTimeoutError";
    this.task = task;
  }
}

/**
 * Thrown by a handler: fail this attempt and run the task again after `after` seconds (the
 * server's backoff when omitted). It counts as an attempt: past `max_retries` the task fails.
 */
export class Retry extends Error {
  readonly after: number | null;

  constructor(reason = "retry requested", options: { after?: number } = {}) {
    super(reason);
    this.name = "Retry";
    this.after = options.after ?? null;
  }
}

/** Thrown by a handler: fail the task for good, whatever retries are left (it goes to the DLQ). */
export class Fail extends Error {
  constructor(reason = "failed") {
    super(reason);
    this.name = "Fail";
  }
}

/** The error an HTTP answer stands for, from its decoded JSON body (or undefined). */
export function errorFromResponse(status: number, body: unknown, retryAfter: string | null): TasklineError {
  const error = isRecord(body) ? body["error"] : undefined;
  const fields = { status, retryAfter: parseRetryAfter(retryAfter) };
  if (!isRecord(error) || typeof error["code"] !== "string") {
    return new TasklineError(
      "unexpected_response",
      `the server answered ${status} without a Taskline error body`,
      fields,
    );
  }
  const message = typeof error["message"] === "string" && error["message"] ? error["message"] : error["code"];
  return new TasklineError(error["code"], message, { ...fields, details: error["details"] ?? null });
}

/** Seconds from a Retry-After header: delta-seconds, or an HTTP date (which the server never sends). */
export function parseRetryAfter(value: string | null): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(seconds, 0);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max((at - Date.now()) / 1000, 0);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
