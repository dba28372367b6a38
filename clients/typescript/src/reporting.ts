/**
 * `Reporter`: a worker's outcomes on their way to `POST /api/v1/outcomes`, with its next leases
 * back, as the Python worker's `reporting.Reporter` does it.
 *
 * Outcomes that end while a report is on its way go together in the next one (one request,
 * however many), and each report asks for as many new leases as the worker will have room for
 * once its outcomes are in: a busy worker takes its next task with the outcome of its last, one
 * round trip a task, and polls only when that brought nothing.
 */

import type { Connection } from "./connection.js";
import { TasklineError } from "./errors.js";
import type { LeasedTask } from "./types.js";

export const MAX_OUTCOMES = 1000;
export const MAX_NEXT = 100;

/** One attempt's outcome, as `/outcomes` takes it. */
export type Outcome =
  | { id: string; token: string; result: unknown }
  | { id: string; token: string; error: string; retry: boolean; retry_after?: number };

/** What became of one outcome: its task's state, or the refusal of this outcome alone. */
export interface Settled {
  id: string;
  state?: string;
  error?: { code: string; message: string };
}

/** The leases a report asks for with its outcomes. */
export interface LeaseAsk {
  next: number;
  worker_id: string;
  queues?: string[];
  types?: string[];
}

interface Waiting {
  outcome: Outcome;
  resolve: (settled: Settled) => void;
  reject: (error: unknown) => void;
}

export class Reporter {
  private waiting: Waiting[] = [];
  private sending = false;

  constructor(
    private readonly connection: Connection,
    /** What to lease with a report of these tasks' outcomes (their slots count as free); null: nothing. */
    private readonly nextLeases: (finishing: Set<string>) => LeaseAsk | null,
    /** Called with what a report asked for and the leases it brought (none if it failed). */
    private readonly arrived: (asked: LeaseAsk | null, leases: LeasedTask[]) => void,
  ) {}

  /**
   * What became of `outcome` once the server took it.
   *
   * @throws what the request threw; the outcome may not have arrived.
   */
  report(outcome: Outcome): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ outcome, resolve, reject });
      if (!this.sending) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.sending = true;
    try {
      while (this.waiting.length > 0) await this.send(this.waiting.splice(0, MAX_OUTCOMES));
    } finally {
      this.sending = false;
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    const ask = this.nextLeases(new Set(batch.map((waiting) => waiting.outcome.id)));
    let answer: { results: Settled[]; tasks: LeasedTask[] };
    try {
      answer = await this.connection.call("POST", "/api/v1/outcomes", {
        body: { outcomes: batch.map((waiting) => waiting.outcome), ...ask },
        retries: 0,
      });
    } catch (error) {
      this.arrived(ask, []);
      if (error instanceof TasklineError && (error.status === 422 || error.status === 413) && batch.length > 1) {
        // One outcome the server refuses (a result too big) must not lose the others with it.
        for (const waiting of batch) await this.send([waiting]);
        return;
      }
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    this.arrived(ask, answer.tasks);
    if (answer.results.length !== batch.length) {
      const error = new TasklineError(
        "unexpected_response",
        `the server answered ${answer.results.length} of ${batch.length} outcomes`,
      );
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, index) => waiting.resolve(answer.results[index]!));
  }
}
