import { ProviderError, ProviderErrorCode, toProviderError } from './provider-error.js';

/**
 * A fetch for the Ollama provider that checks each line of a streamed (NDJSON) answer before the
 * provider reads it. ollama-ai-provider-v2 skips a line it cannot parse with a console warning,
 * so a malformed line, or Ollama's own `{"error": "…"}` line sent mid-answer, would otherwise
 * end the stream as if the answer were complete. Here they fail the stream with a ProviderError,
 * and so does a body that ends before Ollama's last line (`"done": true`): an answer cut short.
 */
export function ollamaStreamGuard(provider: string, baseFetch: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await baseFetch(input, init);
    if (!response.ok || response.body === null || !(response.headers.get('content-type') ?? '').includes('ndjson')) return response;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const lines: string[] = [];
    let buffer = '';
    let ended = false;
    let failure: ProviderError | undefined;
    let finished = false;
    // Keeps lines until checked; a bad line is held back as `failure`, raised only after the good
    // lines before it were read, so the text streamed before the fault still arrives.
    const accept = (line: string) => {
      if (failure || line.trim() === '') return;
      failure = problemWith(line, provider);
      if (!failure) lines.push(line);
      if (!failure && isLastLine(line)) finished = true;
    };
    const guarded = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const line = lines.shift();
          if (line !== undefined) return controller.enqueue(encoder.encode(`${line}\n`));
          if (failure) {
            // The provider's stream stages still hold the good lines; failing at once would discard
            // them downstream (an errored web stream drops its queue). One macrotask lets them through.
            await new Promise((resolve) => setTimeout(resolve, 0));
            controller.error(failure);
            await reader.cancel().catch(() => {});
            return;
          }
          if (ended) return controller.close();
          const { done, value } = await reader.read();
          if (done) {
            ended = true;
            accept(buffer + decoder.decode());
            buffer = '';
            if (!finished && !failure) {
              failure = new ProviderError(ProviderErrorCode.streamCut, `The answer from the model provider (${provider}) ended before it was complete.`, {
                retryable: true,
              });
            }
            continue;
          }
          buffer += decoder.decode(value, { stream: true });
          const complete = buffer.split('\n');
          buffer = complete.pop() ?? '';
          for (const each of complete) accept(each);
        }
      },
      // The body may already have failed (the request was aborted): cancelling it then has nothing to report.
      cancel: (reason) => reader.cancel(reason).catch(() => {}),
    });
    return new Response(guarded, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Whether a (well-formed) line is Ollama's last of an answer. */
function isLastLine(line: string): boolean {
  const value = JSON.parse(line) as unknown;
  return typeof value === 'object' && value !== null && (value as { done?: unknown }).done === true;
}

/** Why a streamed line must end the answer, or undefined when it is a normal line. */
function problemWith(line: string, provider: string): ProviderError | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return new ProviderError(ProviderErrorCode.malformedResponse, `The model provider (${provider}) sent an answer that could not be read.`, {
      retryable: true,
      providerMessage: `unparseable line: ${line.slice(0, 200)}`,
      cause: error,
    });
  }
  if (typeof value === 'object' && value !== null && 'error' in value) return toProviderError(value, provider);
  return undefined;
}
