import { mentionSpans } from '@parley/protocol';
import type { Element, ElementContent, Root, RootContent } from 'hast';
import { memo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';
import { CodeBlock, fenceWordOf } from './code-block.js';

/** The text of a hast node: a code block's code, as the sender wrote it. */
function textOf(node: ElementContent): string {
  if (node.type === 'text') return node.value;
  if (node.type === 'element') return node.children.map(textOf).join('');
  return '';
}

const components: Components = {
  // Links open elsewhere and cannot reach back into this page [WB10].
  a: ({ node: _node, href, children, ...rest }) => (
    <a {...rest} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  img: ({ node: _node, alt }) => <span>{alt ? `[${alt}]` : ''}</span>,
  // A fenced or indented block: highlighted, with a Copy button [WB60]–[WB61]. Inline code stays `<code>`.
  pre: ({ node }) => {
    const code = node?.children.find((child): child is Element => child.type === 'element' && child.tagName === 'code');
    const text = code ? textOf(code) : node ? node.children.map(textOf).join('') : '';
    return <CodeBlock code={text.replace(/\n$/, '')} word={fenceWordOf(code?.properties.className)} />;
  },
};

/**
 * Mentions as chips [WB24]: each `@name` in a text node outside code and links whose name is in
 * `names` (what protocol's `mentionedUsernames` found in the message and the group knows) becomes
 * a `<span class="mention">`. It runs after sanitizing, so the chip's class is ours, never the
 * sender's.
 */
function rehypeMentions(names: ReadonlySet<string>) {
  const split = (children: ElementContent[]): ElementContent[] =>
    children.flatMap((child): ElementContent[] => {
      if (child.type === 'element') {
        if (child.tagName === 'code' || child.tagName === 'pre' || child.tagName === 'a') return [child];
        return [{ ...child, children: split(child.children) }];
      }
      if (child.type !== 'text') return [child];
      const spans = mentionSpans(child.value).filter((span) => names.has(span.username));
      if (spans.length === 0) return [child];
      const out: ElementContent[] = [];
      let at = 0;
      for (const span of spans) {
        if (span.start > at) out.push({ type: 'text', value: child.value.slice(at, span.start) });
        const chip: Element = {
          type: 'element',
          tagName: 'span',
          properties: { className: ['mention'], dataMention: span.username },
          children: [{ type: 'text', value: child.value.slice(span.start, span.end) }],
        };
        out.push(chip);
        at = span.end;
      }
      if (at < child.value.length) out.push({ type: 'text', value: child.value.slice(at) });
      return out;
    });
  return () => (tree: Root) => {
    tree.children = split(tree.children as ElementContent[]) as RootContent[];
  };
}

const NO_MENTIONS: ReadonlySet<string> = new Set();

/**
 * A message's markdown, rendered safely [WB10]: raw HTML is left out (it is never parsed into
 * elements), the result is sanitized with GitHub's schema, and `javascript:` and other unsafe
 * URLs are dropped. Remote images are not loaded: they would tell a third party who
 * reads the conversation. `mentions`: lower-cased names shown as chips.
 */
const Markdown = memo(function Markdown({ text, mentions = NO_MENTIONS }: { text: string; mentions?: ReadonlySet<string> | undefined }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={mentions.size > 0 ? [rehypeSanitize, rehypeMentions(mentions)] : [rehypeSanitize]} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});

export default Markdown;
