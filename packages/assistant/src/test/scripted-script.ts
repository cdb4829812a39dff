/**
 * What a scripted model server answers, written once for every wire format: each scripted
 * server (OpenAI chat completions, Anthropic messages, Ollama chat) renders the same script in
 * its own format, so one provider contract suite drives them all.
 */

/** A piece of streamed text, optionally sent after a pause (to test idle timeouts and aborts). */
export type ScriptedChunk = string | { text: string; delayMs: number };

export interface ScriptedToolCall {
  /** The provider's id for the call; generated when omitted. */
  id?: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ScriptedUsage {
  inputTokens: number;
  outputTokens: number;
}

interface ScriptedResponseBase {
  /** Wait this long before sending the response headers (a slow or hung provider). */
  delayMs?: number;
}

export type ScriptedResponse = ScriptedResponseBase &
  (
    | {
        kind: 'text';
        chunks: readonly ScriptedChunk[];
        finishReason?: 'stop' | 'length';
        usage?: ScriptedUsage;
      }
    | {
        /** The model asks for tools, after optional text. Arguments are streamed in pieces. */
        kind: 'tool-calls';
        text?: readonly ScriptedChunk[];
        calls: readonly ScriptedToolCall[];
        usage?: ScriptedUsage;
      }
    | {
        /**
         * A structured answer: rendered as the request asked for it (a JSON text for a
         * response format or schema, a forced tool call for the tool-based mode).
         */
        kind: 'object';
        value: unknown;
      }
    | {
        /** An HTTP error answer, in the provider's own error body. */
        kind: 'http-error';
        status: number;
        message?: string;
        /** Sent as the `retry-after` header. */
        retryAfterSeconds?: number;
      }
    | {
        /** Some chunks, then the socket is destroyed mid-stream. */
        kind: 'stream-cut';
        chunks: readonly ScriptedChunk[];
      }
    | {
        /**
         * Some chunks, then the response ends cleanly without the provider's completion signal
         * (no finish reason, no stop event): an answer cut short by a proxy or a crashed backend.
         */
        kind: 'stream-ends';
        chunks: readonly ScriptedChunk[];
      }
    | {
        /** Some chunks, then a data line that is not valid JSON, then the rest of a normal answer. */
        kind: 'malformed-chunk';
        chunks: readonly ScriptedChunk[];
        after?: readonly ScriptedChunk[];
      }
    | {
        /** Some chunks, then an error event inside the stream (Anthropic: `event: error`). */
        kind: 'stream-error';
        chunks: readonly ScriptedChunk[];
        /** Anthropic error type, such as `overloaded_error`; other formats map it to their own. */
        errorType?: string;
        message?: string;
      }
    | {
        /** Some chunks, then nothing: the connection stays open until the client gives up. */
        kind: 'stall';
        chunks: readonly ScriptedChunk[];
      }
  );

/** One request received by a scripted server, for assertions on exactly what was sent. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
  /** Set when the client closed the connection before the answer was complete (an abort). */
  closedEarly: boolean;
}
