/**
 * B4's assistant thread: Parley's own (runAssistantThread, as `npm start` runs it), plus a stamp
 * on each delta the runtime hands to its socket, taken by the main thread after each phase.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parentPort } from 'node:worker_threads';
import { runAssistantThread } from '@parley/parley';
import { EventStream } from '@parley/sdk';
import { Stage } from './stage.js';
import type { Receipts } from './wire.js';

export type AssistantThreadRequest = { type: 'take' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string };

export type AssistantThreadReply = { type: 'taken'; receipts: Receipts; warnings: string[] } | { type: 'profiled' };

const handedOn = new Stage();
const warnings: string[] = [];
const sendTurnDelta = EventStream.prototype.sendTurnDelta;
EventStream.prototype.sendTurnDelta = function stampedSendTurnDelta(this: EventStream, conversationId: string, turnId: string, text: string) {
  handedOn.add(text);
  return sendTurnDelta.call(this, conversationId, turnId, text);
};
// BENCH_PROFILE: the main thread asks for a CPU profile of this thread over each relay phase.
let profiler: Session | undefined;
parentPort?.on('message', async (message: AssistantThreadRequest) => {
  switch (message.type) {
    case 'take':
      parentPort?.postMessage({ type: 'taken', receipts: handedOn.take(), warnings: warnings.splice(0) } satisfies AssistantThreadReply);
      return;
    case 'profile-start':
      if (!profiler) {
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
      }
      await profiler.post('Profiler.start');
      return;
    case 'profile-stop': {
      const { profile } = (await profiler?.post('Profiler.stop')) ?? {};
      fs.writeFileSync(message.file, JSON.stringify(profile));
      parentPort?.postMessage({ type: 'profiled' } satisfies AssistantThreadReply);
      return;
    }
  }
});
const warn = (level: string) => (details: object, message: string) => {
  if (warnings.length < 20) warnings.push(`${level}: ${message} ${JSON.stringify(details)}`);
};
await runAssistantThread({ logger: { debug: () => undefined, info: () => undefined, warn: warn('warn'), error: warn('error') } });
