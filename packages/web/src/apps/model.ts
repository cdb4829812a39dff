import type { AdminApp, App, AppCall } from '@parley/protocol';

/** What the apps' screens compute from the protocol's records, apart from React so tests reach it. */

/** What a card says a call is at: the protocol's status, with a late confirmation shown as expired [AP11]. */
export type CallState = 'pending' | 'authorization' | 'running' | 'done' | 'failed' | 'denied' | 'expired';

export function callState(call: AppCall): CallState {
  if (call.status === 'completed') return 'done';
  if (call.status === 'failed' && call.error?.startsWith('expired:')) return 'expired';
  return call.status;
}

/** The text parts of an MCP `CallToolResult`, as plain text (the rest of it, as JSON) [WB71]. */
export function resultText(result: Record<string, unknown> | null): string {
  if (!result) return '';
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  const texts = content.flatMap((part) =>
    part && typeof part === 'object' && (part as { type?: unknown }).type === 'text' && typeof (part as { text?: unknown }).text === 'string' ? [(part as { text: string }).text] : [],
  );
  if (texts.length > 0 && texts.length === content.length) return texts.join('\n');
  return JSON.stringify(result, null, 2);
}

/** A duration in the person's language: milliseconds under a second, else seconds with one decimal. */
export function formatDuration(ms: number, language: string): string {
  if (ms < 1000) return new Intl.NumberFormat(language, { style: 'unit', unit: 'millisecond', unitDisplay: 'short' }).format(ms);
  return new Intl.NumberFormat(language, { style: 'unit', unit: 'second', unitDisplay: 'short', maximumFractionDigits: 1 }).format(ms / 1000);
}

/** An approved app whose new listing is not the approved one: back in review [AP4]. */
export function backInReview(app: AdminApp): boolean {
  return app.status === 'review' && app.approvedHash !== null && app.listing?.hash !== app.approvedHash;
}

/** One input of a tool, from its JSON Schema: name, type, whether it is required, what it is for. */
export interface InputSummary {
  name: string;
  type: string;
  required: boolean;
  description: string | null;
}

/** The top-level properties of a tool's input schema, for review [WB73]. */
export function inputsOf(schema: Record<string, unknown>): InputSummary[] {
  const properties = schema.properties && typeof schema.properties === 'object' ? (schema.properties as Record<string, unknown>) : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : []);
  return Object.entries(properties).map(([name, value]) => {
    const property = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    const enumValues = Array.isArray(property.enum) ? property.enum.map((item) => JSON.stringify(item)).join(' | ') : null;
    const type = enumValues ?? (Array.isArray(property.type) ? property.type.join(' | ') : typeof property.type === 'string' ? property.type : 'any');
    return { name, type, required: required.has(name), description: typeof property.description === 'string' ? property.description : null };
  });
}

/** Whether the assistant may call a tool of the app that is not read-only (it can change things). */
export function changesThings(app: App): boolean {
  return app.tools.some((tool) => tool.visibility.includes('model') && tool.annotations.readOnlyHint !== true);
}

/**
 * The warning before switching an app on [WB72]: `writes` when the assistant may call a tool of it
 * that is not read-only (such calls run with the account of the member who asked, once they
 * confirm); `reads` when all it may call is read-only but the app acts with each member's own
 * account (OAuth), so those calls read what that account can see without asking; else none.
 */
export function switchOnWarning(app: App): 'writes' | 'reads' | null {
  if (changesThings(app)) return 'writes';
  if (app.oauth && app.tools.some((tool) => tool.visibility.includes('model'))) return 'reads';
  return null;
}

/** Whether a call has ended: its answer, a failure or a denial is final. */
export function isEnded(call: AppCall): boolean {
  return call.status === 'completed' || call.status === 'failed' || call.status === 'denied';
}

/**
 * What a widget's own tool call answers the widget [WB74]: the app's `CallToolResult` when it ran;
 * otherwise an error result saying why (denied by the member, failed), so the widget learns it.
 */
export function widgetCallResult(call: AppCall): { content: { type: 'text'; text: string }[]; isError?: boolean; [key: string]: unknown } {
  if (call.status === 'completed' && call.result && Array.isArray(call.result.content)) {
    return call.result as { content: { type: 'text'; text: string }[] };
  }
  const reason = call.status === 'denied' ? 'denied: the member did not approve this call' : call.error ?? `the call ${call.status}`;
  return { content: [{ type: 'text', text: reason }], isError: true };
}
