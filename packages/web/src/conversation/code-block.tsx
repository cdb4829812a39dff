import type { Element, ElementContent, Root } from 'hast';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

type Highlighter = typeof import('./highlight.js');

/** The highlighter, once its chunk is here: blocks rendered later highlight without waiting. */
let loaded: Highlighter | null = null;
let loadingHighlighter: Promise<Highlighter> | null = null;

function loadHighlighter(): Promise<Highlighter> {
  loadingHighlighter ??= import('./highlight.js').then(
    (module) => (loaded = module),
    (error: unknown) => {
      loadingHighlighter = null;
      throw error;
    },
  );
  return loadingHighlighter;
}

/**
 * A highlighted tree as React elements: text, and spans whose classes are highlight.js's own
 * (`hljs-…`); anything else the tree could hold is dropped, so nothing but text and those classes
 * reaches the page [WB60].
 */
export function renderHighlighted(nodes: readonly (ElementContent | Root['children'][number])[], key = ''): ReactNode[] {
  return nodes.map((node, index) => {
    if (node.type === 'text') return node.value;
    if (node.type !== 'element' || node.tagName !== 'span') return null;
    const classes = classesOf(node).filter((name) => /^hljs-[\w-]+$/.test(name) || /^[\w]+_$/.test(name));
    return (
      <span key={`${key}${index}`} className={classes.join(' ') || undefined}>
        {renderHighlighted(node.children, `${key}${index}.`)}
      </span>
    );
  });
}

function classesOf(node: Element): string[] {
  const value: unknown = node.properties.className;
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(/\s+/) : [];
}

/** The fence word of a block (` ```ts ` gives `ts`), from the `language-…` class markdown gives its code. */
export function fenceWordOf(className: unknown): string | null {
  const classes = Array.isArray(className) ? className.map(String) : typeof className === 'string' ? className.split(/\s+/) : [];
  const word = classes.find((name) => name.startsWith('language-'))?.slice('language-'.length);
  return word ? word : null;
}

/**
 * A fenced code block [WB60]–[WB61]: its language and a Copy button above it, the code in
 * `<pre>` (reachable by keyboard, since a long line scrolls). The code shows as plain text at
 * once; the highlighter and the block's grammar load when a block first names one of them, and
 * it is highlighted when they are here. A streamed answer re-highlights as its text grows.
 */
export function CodeBlock({ code, word }: { code: string; word: string | null }) {
  const { t } = useTranslation();
  const [grammar, setGrammar] = useState<string | null>(() => (word && loaded ? loaded.grammarOf(word) : null));
  const [ready, setReady] = useState(() => (grammar !== null && loaded?.grammarLoaded(grammar)) ?? false);
  const [copied, setCopied] = useState<'copied' | 'failed' | null>(null);
  const reset = useRef<ReturnType<typeof setTimeout>>(undefined);

  useEffect(() => {
    if (!word) return;
    let current = true;
    void loadHighlighter()
      .then(async (highlighter) => {
        const name = highlighter.grammarOf(word);
        if (current) setGrammar(name);
        if (!name) return;
        await highlighter.loadGrammar(name);
        if (current) setReady(true);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [word]);

  useEffect(() => () => clearTimeout(reset.current), []);

  const copy = () => {
    clearTimeout(reset.current);
    navigator.clipboard.writeText(code).then(
      () => setCopied('copied'),
      () => setCopied('failed'),
    );
    reset.current = setTimeout(() => setCopied(null), 2000);
  };

  const tree = ready && grammar && loaded ? loaded.highlight(code, grammar) : null;
  return (
    <div className="code-block" data-language={grammar ?? undefined}>
      <div className="code-block-bar">
        <span className="truncate">{word ?? t('code.label')}</span>
        {/* The name says what is copied and starts with the visible word; after a click the button says how it went. */}
        <button type="button" onClick={copy} className="code-block-copy" aria-label={copied ? undefined : t('code.copyCode')} aria-live="polite">
          {copied === 'copied' ? t('code.copied') : copied === 'failed' ? t('code.copyFailed') : t('code.copy')}
        </button>
      </div>
      {/* A scrolling block takes the focus, so its long lines can be read by keyboard. */}
      <pre tabIndex={0}>
        <code className={tree ? 'hljs' : undefined} data-highlighted={tree ? 'true' : undefined}>
          {tree ? renderHighlighted(tree.children) : code}
        </code>
      </pre>
    </div>
  );
}
