/**
 * B4's assistant thread: Parley's own (runAssistantThread, as `npm start` runs it), plus a stamp
 * on each delta the runtime hands to its socket, taken by the main thread after each phase.
 */
import { parentPort } from 'node:worker_threads';
import { runAssistantThread } from '@parley/parley';
import { EventStream } from '@parley/sdk';
import { Stage } from './stage.js';
import type { Receipts } from './wire.js';

export interface AssistantThreadReply {
  type: 'taken';
  receipts: Receipts;
  warnings: string[];
}

const handedOn = new Stage();
const warnings: string[] = [];
const sendTurnDelta = EventStream.prototype.sendTurnDelta;
EventStream.prototype.sendTurnDelta = function stampedSendTurnDelta(this: EventStream, conversationId: string, turnId: string, text: string) {
  handedOn.add(text);
  return sendTurnDelta.call(this, conversationId, turnId, text);
};
parentPort?.on('message', (message: { type: string }) => {
  if (message.type !== 'take') return;
  parentPort?.postMessage({ type: 'taken', receipts: handedOn.take(), warnings: warnings.splice(0) } satisfies AssistantThreadReply);
});
await runAssistantThread({
  log: (level, message, detail) => {
    if (level !== 'info' && warnings.length < 20) warnings.push(`${level}: ${message} ${detail instanceof Error ? detail.message : String(detail ?? '')}`);
  },
});
