/**
 * `LeaseKeeper`: keeps one lease alive while its handler runs (heartbeats, progress), and stops
 * the handler when the server says its task was cancelled or its lease went to someone else.
 */

import { type Connection, describe } from "./connection.js";
import { TasklineError } from "./errors.js";
import type { LeasedTask } from "./types.js";
import type { Logger } from "./worker.js";

const MIN_INTERVAL_S = 0.5;
const MAX_INTERVAL_S = 10;

/** Why an attempt's handler was stopped before it returned. */
export type StopReason = "timeout" | "cancelled" | "lost" | "shutdown";

export class LeaseKeeper {
  /** Seconds between heartbeats: a third of the lease's length, 0.5 to 10 s. */
  readonly interval: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private beating = false;
  private again = false;
  private stopped = false;
  private sentProgress: number | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly lease: LeasedTask,
    private readonly progress: () => number | null,
    private readonly stopAttempt: (reason: StopReason) => void,
    private readonly log: Logger,
  ) {
    // Both times are the server's, so the length holds whatever this machine's clock says.
    const expires = Date.parse(lease.lease.expires_at);
    const started = lease.started_at ? Date.parse(lease.started_at) : expires;
    this.interval = Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_S, (expires - started) / 3000));
  }

  /** Most tasks end within a third of a lease: the first heartbeat only falls due after it. */
  start(): void {
    if (!this.beating) this.schedule(); // else the beat on its way (progress at the start) schedules the next
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Send a heartbeat now (progress changed), or right after the one on its way. */
  nudge(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    void this.beat();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.beat(), this.interval * 1000);
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    if (this.beating) {
      this.again = true; // one beat at a time: the next goes right after this one
      return;
    }
    this.beating = true;
    const progress = this.progress();
    const body: Record<string, unknown> = { token: this.lease.lease.token };
    if (progress !== null && progress !== this.sentProgress) body["progress"] = progress;
    try {
      const ack = await this.connection.call<{ expires_at: string; cancel_requested: boolean }>(
        "POST",
        `/api/v1/tasks/${encodeURIComponent(this.lease.id)}/heartbeat`,
        { body, retries: 0, timeout: 10 },
      );
      this.sentProgress = progress;
      if (ack.cancel_requested && !this.stopped) {
        this.log.info(`task ${this.lease.id}: cancel requested; stopping its handler`);
        this.stopAttempt("cancelled");
      }
    } catch (error) {
      if (this.stopped) return; // the outcome went first; what the server says now is moot
      if (error instanceof TasklineError && (error.code === "lease_lost" || error.code === "not_found")) {
        this.log.warn(`task ${this.lease.id}: lease lost; stopping its handler`);
        this.stopAttempt("lost");
        return;
      }
      // The server or the network: keep the handler, try again at the next beat.
      this.log.warn(`task ${this.lease.id}: heartbeat failed: ${describe(error)}`);
    } finally {
      this.beating = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      void this.beat();
    } else {
      this.schedule();
    }
  }
}
