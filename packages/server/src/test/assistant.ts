import type { Message, ServerFrame, ServerFrameOf } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { messageId } from './harness.js';
import type { RawSocket } from './streams.js';

/** Test support for the assistant's turns: frames of an answer as members' sockets receive them. */

export type TurnFrame = ServerFrameOf<'assistant-turn-start'> | ServerFrameOf<'assistant-text-delta'> | ServerFrameOf<'assistant-turn-end'>;

export function isTurnFrame(frame: ServerFrame): frame is TurnFrame {
  return frame.type === 'assistant-turn-start' || frame.type === 'assistant-text-delta' || frame.type === 'assistant-turn-end';
}

/** The frames of one turn a socket received, from frame index `after` on. */
export function turnFrames(socket: RawSocket, turnId: string, after = 0): TurnFrame[] {
  return socket.frames.slice(after).filter((frame): frame is TurnFrame => isTurnFrame(frame) && frame.turnId === turnId);
}

/** The text a client rebuilds from deltas placed by their offsets; a delta past the text is a gap. */
export function streamedText(frames: TurnFrame[]): string {
  let text = '';
  for (const frame of frames) {
    if (frame.type !== 'assistant-text-delta') continue;
    if (frame.offset > text.length) throw new Error(`gap: delta at ${frame.offset} after ${text.length} characters`);
    text = text.slice(0, frame.offset) + frame.delta;
  }
  return text;
}

/** Waits until a socket has received deltas of a turn adding up to `text`. */
export async function untilText(socket: RawSocket, turnId: string, text: string): Promise<void> {
  await socket.frame(() => {
    try {
      return streamedText(turnFrames(socket, turnId)) === text;
    } catch {
      return false;
    }
  });
}

export function messageCreated(socket: RawSocket, predicate: (message: Message) => boolean): Promise<ServerFrameOf<'event'>> {
  return socket.frame(
    (frame): frame is ServerFrameOf<'event'> => frame.type === 'event' && frame.event.type === 'message-created' && predicate(frame.event.message),
  );
}

export async function say(client: ParleyClient, conversationId: string, text: string): Promise<Message> {
  return client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}
