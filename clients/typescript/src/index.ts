/**
 * `@taskline/client`: Taskline's HTTP API (SPEC §3) from TypeScript and JavaScript, with `fetch`
 * and no dependencies. `Client` submits and manages tasks and follows events; `Worker` runs them.
 */

export { Client, type ClientOptions, type ListFilter, type SubmitOptions, type WaitOptions } from "./client.js";
export { Connection, type ConnectionOptions, DEFAULT_SERVER } from "./connection.js";
export { Fail, Retry, TasklineError, WaitTimeoutError } from "./errors.js";
export type { EventsOptions, WebSocketConstructor, WebSocketLike } from "./events.js";
export type { StopReason } from "./lease.js";
export {
  type AttemptError,
  type LaggedNotice,
  type LeasedTask,
  type Priority,
  type QueueStats,
  type Stats,
  type StreamItem,
  TERMINAL_STATES,
  type Task,
  type TaskOptions,
  type TaskPage,
  type TaskSpec,
  type TaskState,
  type TaskSummary,
  type TasklineEvent,
  type WebhookStatus,
  type WorkerInfo,
} from "./types.js";
export { type Handler, type Logger, TaskContext, Worker, type WorkerOptions } from "./worker.js";
