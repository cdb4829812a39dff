import { memo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';

const components: Components = {
  // Links open elsewhere and cannot reach back into this page [WB10].
  a: ({ node: _node, href, children, ...rest }) => (
    <a {...rest} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  img: ({ node: _node, alt }) => <span>{alt ? `[${alt}]` : ''}</span>,
};

/**
 * A message's markdown, rendered safely [WB10]: raw HTML is left out (it is never parsed into
 * elements), the result is sanitized with GitHub's schema, and `javascript:` and other unsafe
 * URLs are dropped. Remote images are not loaded: they would tell a third party who
 * reads the conversation.
 */
const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeSanitize]} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});

export default Markdown;
