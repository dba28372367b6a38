// What producer.mjs and worker.mjs share: the queue name, the connection, the clock.
import { performance } from 'node:perf_hooks';

export const QUEUE = 'bench';

/** ioredis options for a redis://host:port/db URL. */
export function connectionOf(url) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
    maxRetriesPerRequest: null, // what BullMQ requires of a Worker's connection
  };
}

/** Wall-clock seconds with sub-millisecond resolution, comparable with Python's time.time(). */
export function now() {
  return (performance.timeOrigin + performance.now()) / 1000;
}
