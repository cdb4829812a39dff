import { lazy, Suspense } from 'react';

const Rendered = lazy(() => import('./markdown.js'));

/**
 * Markdown, loaded after the first paint: the renderer is a quarter of the client's JavaScript.
 * Until it arrives a message shows as plain text (React escapes it), never as HTML.
 */
export function Markdown({ text, mentions }: { text: string; mentions?: ReadonlySet<string> | undefined }) {
  return (
    <Suspense fallback={<div className="whitespace-pre-wrap">{text}</div>}>
      <Rendered text={text} mentions={mentions} />
    </Suspense>
  );
}
