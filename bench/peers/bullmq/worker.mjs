// A BullMQ worker with its default concurrency (1): `node worker.mjs URL`. Each job writes
// the same Redis keys as bench/peers/probe.py, so "done" means the same as for every peer.
import { Worker } from 'bullmq';
import Redis from 'ioredis';
import { QUEUE, connectionOf, now } from './common.mjs';

const url = process.argv[2];
const probe = new Redis(url);

const worker = new Worker(
  QUEUE,
  async (job) => {
    if (job.data.enqueued_at === undefined) {
      await probe.incr('bench:done');
    } else {
      await probe.rpush('bench:latency', now() - job.data.enqueued_at);
    }
  },
  { connection: connectionOf(url) },
);

async function stop() {
  await worker.close();
  probe.disconnect();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
