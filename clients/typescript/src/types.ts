/**
 * The wire shapes of Taskline's HTTP API (SPEC §1 and §3). Field names are the API's own
 * (`docs/openapi.json`), snake_case as sent and received; times are RFC 3339 UTC strings.
 */

export type TaskState = "pending" | "scheduled" | "running" | "retrying" | "completed" | "failed" | "cancelled";

export const TERMINAL_STATES: readonly TaskState[] = ["completed", "failed", "cancelled"];

/** 0-3 or a name (case-insensitive); responses hold the number. */
export type Priority = 0 | 1 | 2 | 3 | "low" | "normal" | "high" | "critical";

/** The optional fields of a submit (SPEC §1); the server fills the defaults. */
export interface TaskOptions {
  /** Default `"default"`. */
  queue?: string;
  /** Default `1` (`normal`). */
  priority?: Priority;
  /** Seconds from now; not with `scheduled_at`. */
  delay?: number;
  /** Run not before this; a string must be RFC 3339 with an offset. Not with `delay`. */
  scheduled_at?: string | Date;
  /** Retries after the first attempt, 0-100; default 3. */
  max_retries?: number;
  /** Seconds one attempt may run, enforced by the server; default 300. */
  timeout?: number;
  /** Idempotency: the same key in the same queue gives back the existing task. */
  unique_key?: string;
  /** Seconds the key holds after the submit; default 86400. */
  unique_ttl?: number;
  metadata?: Record<string, unknown>;
  /** An http(s) URL POSTed on a terminal state (SPEC §6). */
  webhook?: string;
}

/** One task of a bulk submit: `type`, `payload` and the options. */
export interface TaskSpec extends TaskOptions {
  type: string;
  payload?: unknown;
}

export interface AttemptError {
  attempt: number;
  error: string;
  at: string;
}

export interface WebhookStatus {
  state: "pending" | "delivered" | "failed";
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

/** A task as the API returns it. */
export interface Task {
  id: string;
  type: string;
  queue: string;
  payload: unknown;
  priority: number;
  max_retries: number;
  timeout: number;
  scheduled_at: string | null;
  unique_key: string | null;
  unique_ttl: number;
  metadata: Record<string, unknown>;
  webhook: string | null;
  state: TaskState;
  attempts: number;
  result: unknown;
  error: string | null;
  errors: AttemptError[];
  progress: number | null;
  worker_id: string | null;
  cancel_requested: boolean;
  webhook_status: WebhookStatus | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
}

/** A leased task, as `/poll` and `/outcomes` hand it to a worker. */
export interface LeasedTask extends Task {
  lease: { token: string; expires_at: string };
}

export interface TaskPage {
  tasks: Task[];
  next_cursor: string | null;
}

export interface Stats {
  states: Record<TaskState, number>;
  total: number;
  workers: number;
}

export interface QueueStats {
  name: string;
  paused: boolean;
  pending: { low: number; normal: number; high: number; critical: number };
  scheduled: number;
  running: number;
  retrying: number;
  failed: number;
  completed: number;
  cancelled: number;
}

/** A worker as `/admin/workers` and the `worker.*` events show it. */
export interface WorkerInfo {
  id: string;
  host: string | null;
  pid: number | null;
  queues: string[];
  types: string[];
  concurrency: number | null;
  active: number;
  processed: number;
  failed: number;
  state: "active" | "paused";
  started_at: string | null;
  last_seen: string | null;
}

/** A task as an event carries it: without payload, result, metadata and errors. */
export type TaskSummary = Omit<Task, "payload" | "result" | "metadata" | "errors">;

/** One event of `/ws`. `event` names it (`task.completed`, `worker.joined`, …); always dotted. */
export interface TasklineEvent {
  /** Ordered; pass it as `since` to resume after this event. */
  id: string;
  event: `${string}.${string}`;
  ts: string;
  task?: TaskSummary;
  worker?: WorkerInfo;
  /** On `schedule.*` events (SPEC §10): the schedule with its `task` as a summary (type, queue, priority). */
  schedule?: Record<string, unknown>;
}

/** Events this reader asked for are gone: it fell behind, or `since` is older than the log keeps. */
export interface LaggedNotice {
  event: "lagged";
  ts: string;
}

export type StreamItem = TasklineEvent | LaggedNotice;
