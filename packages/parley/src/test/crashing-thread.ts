/**
 * A stand-in for the assistant's thread in tests of its supervision: says it is ready, and the
 * first time it runs (per marker file) crashes shortly after. Later runs stay up until told to close.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const marker = (workerData as { token: string }).token;
const first = !fs.existsSync(marker);
if (first) fs.writeFileSync(marker, 'crashed once');
parentPort?.on('message', (message: { type: string }) => {
  if (message.type === 'close') process.exit(0);
});
parentPort?.postMessage({ type: 'ready' });
if (first) setTimeout(() => {
  throw new Error('the thread crashed');
}, 50);
