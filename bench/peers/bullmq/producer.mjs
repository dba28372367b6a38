// The BullMQ producer: `node producer.mjs enqueue URL COUNT` prints the seconds COUNT
// `queue.add` calls took; `node producer.mjs probes URL COUNT RATE` sends COUNT latency
// probes at RATE a second, each carrying its enqueue time.
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { QUEUE, connectionOf, now } from './common.mjs';

const [mode, url, count, rate] = process.argv.slice(2);
const queue = new Queue(QUEUE, { connection: connectionOf(url) });
await queue.waitUntilReady();

if (mode === 'enqueue') {
  const started = performance.now();
  for (let n = 0; n < Number(count); n++) {
    await queue.add('noop', {});
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
} else if (mode === 'probes') {
  const started = performance.now();
  for (let n = 0; n < Number(count); n++) {
    const wait = started + (n * 1000) / Number(rate) - performance.now();
    if (wait > 0) await sleep(wait);
    await queue.add('noop', { enqueued_at: now() });
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
}
await queue.close();
