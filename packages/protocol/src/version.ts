/**
 * The wire protocol version. Bump it, with a dated line below, whenever a schema in this
 * package changes; `protocol-version.test.ts` fails until you do.
 *
 * History:
 * - 1 (2026-11-23): accounts, conversations, messages, invites, event log with resume.
 * - 2 (2026-11-23): the assistant: streamed turns, decisions, personal memory and instructions, context.
 * - 3 (2026-12-02): `member-updated` events: a member's new profile reaches every conversation they are in.
 * - 4 (2026-12-02): removal and blocking that hold: error `REMOVED_FROM_GROUP`; `event-withheld` in
 *   place of an event from an account the reader blocked; `my-blocks-updated` to the blocker's own
 *   sockets; `assistant-turn-start.triggeredBy`.
 *   Also `GET /api/assistant/backlog`: the people's messages a bot has not decided on yet, read
 *   when it connects.
 *   Also every request string, array and record is bounded (`maxLength`/`maxItems` where they were
 *   missing: ids, usernames, invite tokens; sequence numbers at most 2^31 - 1); text refuses U+0000 and lone
 *   surrogates (request schemas apart from the served ones where they were shared: instructions, summary,
 *   assistant settings); bot-only routes say so.
 * - 5 (2026-12-02): apps (MCP): `Me.admin`; the directory for administrators (`/api/admin/apps…`,
 *   routes marked `caller: 'admin'`); approved apps for members (`/api/apps`); apps switched on per
 *   conversation (`app-enabled`, `app-disabled` events); tool calls with confirmations
 *   (`…/apps/:appId/calls`, `…/app-calls`, `app-call-created`, `app-call-updated` events).
 * - 6 (2026-12-02): the socket frame `turn-end` (and its answer `turn-ended`): a bot ends its turn on
 *   the socket that carried its deltas, so the end cannot overtake them.
 * - 7 (2026-12-03): `AppCall.progress` (the app's last progress report, carried by throttled
 *   `app-call-updated` events while a call runs); a call's `error` begins `cancelled:` when a
 *   member stopped the answer that asked for it, `interrupted:` when its node stopped.
 * - 8 (2026-12-03): `getTurn` (`GET …/turns/:turnId`): one turn for any member, so a client can ask
 *   why the assistant gave an answer.
 * - 9 (2026-12-03): OAuth for remote apps: `AdminApp.oauth`, `App.oauth` and `App.connected`, call status `authorization`,
 *   `POST`/`DELETE /api/apps/:appId/authorization`, `GET /api/app-authorization/callback` (a route whose
 *   answer is a `'redirect'`).
 * - 10 (2026-12-03): widgets (MCP Apps): `openWidget` (`POST …/app-calls/:callId/widget`) gives a
 *   member a `WidgetSession`, the address of a tool call's widget on the separate widget origin.
 * - 11 (2026-12-04): `AdminAppList.localApps`: whether the server adds local (stdio) apps
 *   (`PARLEY_APPS_STDIO=on`), so an admin screen offers only the kinds of app it will accept.
 */
export const PROTOCOL_VERSION = 11;
