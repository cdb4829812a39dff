import crypto from 'node:crypto';
import type { ErrorBody } from '@parley/protocol';
import type { FastifyRequest } from 'fastify';
import type { ErrorPage } from '../http/bind.js';

/** The languages the page speaks; English when `Accept-Language` names neither [AP24]. */
type Language = 'en' | 'fr';

/** What went wrong, as the person reads it: one per kind of refusal of the callback ([AP17], [AP24]). */
type Reason = 'signed-out' | 'unknown' | 'other-session' | 'expired' | 'denied' | 'refused' | 'issuer' | 'code' | 'malformed' | 'app-gone' | 'unreachable' | 'failed';

const TEXT: Record<Language, { title: string; back: string; reasons: Record<Reason, string>; serverSaid: (code: string) => string }> = {
  en: {
    title: 'The app was not connected',
    back: 'Back to Parley',
    reasons: {
      'signed-out': 'You are not signed in to Parley in this browser, so the authorisation could not be finished. Sign in, then connect the app again.',
      unknown: 'This authorisation is not under way: it was already finished, or it was never started here. Connect the app again from Parley if you still need it.',
      'other-session': 'This authorisation was started in another browser or session. Finish it where you started it, or connect the app again from here.',
      expired: 'This authorisation took too long: it must be finished within 10 minutes of starting it. Connect the app again from Parley.',
      denied: 'You declined to give Parley access to this app, so nothing was connected.',
      refused: 'The app’s authorisation server refused the authorisation, so nothing was connected. Connect the app again from Parley.',
      issuer: 'The answer did not come from the authorisation server this app uses, so Parley refused it and kept nothing.',
      code: 'The app’s authorisation server would not exchange its code (it may have expired or been used already), so nothing was connected. Connect the app again from Parley.',
      malformed: 'The authorisation server sent your browser back without what Parley needs to finish. Connect the app again from Parley.',
      'app-gone': 'This app is no longer available in Parley, or no longer needs an authorisation.',
      unreachable: 'Parley could not reach the app’s authorisation server. Try again in a moment.',
      failed: 'Something went wrong while Parley finished the authorisation. Try again in a moment.',
    },
    serverSaid: (code) => `The authorisation server said: ${code}.`,
  },
  fr: {
    title: 'L’application n’a pas été connectée',
    back: 'Retour à Parley',
    reasons: {
      'signed-out': 'Vous n’êtes pas connecté à Parley dans ce navigateur : l’autorisation n’a pas pu aboutir. Connectez-vous, puis connectez de nouveau l’application.',
      unknown: 'Cette autorisation n’est pas en cours : elle a déjà été terminée, ou n’a jamais été commencée ici. Connectez de nouveau l’application depuis Parley si vous en avez besoin.',
      'other-session': 'Cette autorisation a été commencée dans un autre navigateur ou une autre session. Terminez-la là où vous l’avez commencée, ou connectez de nouveau l’application d’ici.',
      expired: 'Cette autorisation a pris trop de temps : elle doit être terminée dans les 10 minutes qui suivent son début. Connectez de nouveau l’application depuis Parley.',
      denied: 'Vous avez refusé de donner accès à cette application : rien n’a été connecté.',
      refused: 'Le serveur d’autorisation de l’application a refusé l’autorisation : rien n’a été connecté. Connectez de nouveau l’application depuis Parley.',
      issuer: 'La réponse ne venait pas du serveur d’autorisation de cette application : Parley l’a refusée et n’a rien gardé.',
      code: 'Le serveur d’autorisation de l’application n’a pas voulu échanger son code (il a peut-être expiré ou déjà servi) : rien n’a été connecté. Connectez de nouveau l’application depuis Parley.',
      malformed: 'Le serveur d’autorisation a renvoyé votre navigateur sans ce dont Parley a besoin pour terminer. Connectez de nouveau l’application depuis Parley.',
      'app-gone': 'Cette application n’est plus disponible dans Parley, ou n’a plus besoin d’autorisation.',
      unreachable: 'Parley n’a pas pu joindre le serveur d’autorisation de l’application. Réessayez dans un instant.',
      failed: 'Un problème est survenu pendant que Parley terminait l’autorisation. Réessayez dans un instant.',
    },
    serverSaid: (code) => `Le serveur d’autorisation a répondu : ${code}.`,
  },
};

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:3rem 1.5rem;color:#1d1d1f;background:#f6f6f7}' +
  'main{max-width:32rem;margin:0 auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 3px #0002}' +
  'h1{font-size:1.25rem;margin:0 0 1rem}p{margin:0 0 1rem}a{color:#3451b2;font-weight:600}' +
  '@media (prefers-color-scheme:dark){body{color:#e8e8ea;background:#161618}main{background:#232326}a{color:#a8b1ff}}';

/** Only the page's own style may apply; nothing else loads or runs, and nobody frames it [AP24]. */
const POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${crypto.createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The person's language: the first of English or French their browser names, by weight. */
export function pageLanguage(acceptLanguage: string | undefined): Language {
  let best: { language: Language; q: number } | undefined;
  for (const range of (acceptLanguage ?? '').slice(0, 1024).split(',')) {
    const [tag = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const primary = tag.split('-')[0];
    if (primary !== 'en' && primary !== 'fr') continue;
    const weight = parameters.find((parameter) => parameter.startsWith('q='));
    const q = weight === undefined ? 1 : Number(weight.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { language: primary, q };
  }
  return best?.language ?? 'en';
}

/** Which refusal of the callback this is, from the error it answers ([AP17]'s codes and fields). */
function reasonOf(error: ErrorBody, query: Record<string, unknown>): Reason {
  if (error.code === 'UNAUTHENTICATED') return 'signed-out';
  if (error.code === 'UNAVAILABLE') return 'unreachable';
  if (error.code === 'INVALID_INPUT') return 'malformed';
  switch (`${error.code} ${error.field ?? ''}`) {
    case 'NOT_FOUND query.state':
      return 'unknown';
    case 'FORBIDDEN query.state':
      return 'other-session';
    case 'CONFLICT query.state':
      return 'expired';
    case 'CONFLICT query.error':
      return query.error === 'access_denied' ? 'denied' : 'refused';
    case 'FORBIDDEN query.iss':
      return 'issuer';
    case 'CONFLICT query.code':
      return 'code';
    case 'NOT_FOUND params.appId':
    case 'CONFLICT params.appId':
      return 'app-gone';
  }
  return 'failed';
}

/**
 * The page a person's browser gets when the OAuth callback refuses [AP24]: what happened, in
 * their language, and the way back to Parley. No script, nothing loaded, the code never leaked by
 * a referrer.
 */
export function authorizationFailurePage(failure: { status: number; error: ErrorBody }, request: FastifyRequest): ErrorPage {
  const language = pageLanguage(request.headers['accept-language']);
  const text = TEXT[language];
  const query = (request.query ?? {}) as Record<string, unknown>;
  const reason = reasonOf(failure.error, query);
  // The authorisation server's error code, when it is one (RFC 6749 §4.1.2.1: a short ASCII
  // word); any other text it sent is not shown, so no one can put words on Parley's page.
  const code = reason === 'refused' && typeof query.error === 'string' && /^[a-z_]{1,64}$/.test(query.error) ? query.error : undefined;
  const html = [
    '<!doctype html>',
    `<html lang="${language}"><head><meta charset="utf-8">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${text.title} · Parley</title>`,
    `<style>${STYLE}</style>`,
    `</head><body><main data-reason="${reason}">`,
    `<h1>${text.title}</h1>`,
    `<p>${text.reasons[reason]}</p>`,
    code ? `<p>${text.serverSaid(code)}</p>` : '',
    `<p><a href="/">${text.back}</a></p>`,
    '</main></body></html>',
  ].join('');
  return {
    html,
    headers: {
      'content-security-policy': POLICY,
      'content-language': language,
      'referrer-policy': 'no-referrer',
      vary: 'Accept, Accept-Language',
    },
  };
}
