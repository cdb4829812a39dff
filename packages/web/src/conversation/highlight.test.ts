import type { Element, ElementContent, Root } from 'hast';
import { createElement, Fragment } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { fenceWordOf, renderHighlighted } from './code-block.js';
import { grammarLoaded, grammarOf, highlight, loadGrammar } from './highlight.js';

const elements = (nodes: readonly ElementContent[] | Root['children']): Element[] =>
  nodes.flatMap((node) => (node.type === 'element' ? [node, ...elements(node.children)] : []));

const markup = (nodes: Root['children']) => renderToStaticMarkup(createElement(Fragment, null, ...renderHighlighted(nodes)));

describe('code highlighting', () => {
  it('[WB60] a fence word names a grammar by its name or a usual alias, in any case; others stay plain', () => {
    expect(grammarOf('ts')).toBe('typescript');
    expect(grammarOf('TSX')).toBe('typescript');
    expect(grammarOf('Python')).toBe('python');
    expect(grammarOf('sh')).toBe('bash');
    expect(grammarOf('html')).toBe('xml');
    expect(grammarOf('brainfuck')).toBeNull();
    expect(grammarOf('')).toBeNull();
    expect(fenceWordOf(['language-ts'])).toBe('ts');
    expect(fenceWordOf('language-rust other')).toBe('rust');
    expect(fenceWordOf(undefined)).toBeNull();
    expect(fenceWordOf(['language-'])).toBeNull();
  });

  it('[WB60] a grammar loads on demand, once; until then nothing is highlighted', async () => {
    expect(grammarLoaded('go')).toBe(false);
    expect(highlight('package main', 'go')).toBeNull();
    await Promise.all([loadGrammar('go'), loadGrammar('go')]);
    expect(grammarLoaded('go')).toBe(true);
    const tree = highlight('package main\nfunc main() { fmt.Println("hi") }', 'go');
    expect(tree).not.toBeNull();
    const classes = elements(tree?.children ?? []).flatMap((element) => (element.properties.className as string[] | undefined) ?? []);
    expect(classes).toContain('hljs-keyword');
    expect(classes).toContain('hljs-string');
    await expect(loadGrammar('cobol')).rejects.toThrow();
  });

  it('[WB60] markup inside code stays text: the tree holds spans and text only, rendered escaped', async () => {
    await loadGrammar('xml');
    const code = '<script>alert(1)</script><img src=x onerror="alert(2)">';
    const tree = highlight(code, 'xml');
    expect(tree).not.toBeNull();
    expect(elements(tree?.children ?? []).every((element) => element.tagName === 'span')).toBe(true);
    const html = markup(tree?.children ?? []);
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;<span class="hljs-name">script</span>&gt;');
    expect(html.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')).toBe(code);
  });

  it('[WB60] only spans with highlight.js classes reach the page, whatever tree it is handed', () => {
    const hostile: Root['children'] = [
      { type: 'element', tagName: 'script', properties: {}, children: [{ type: 'text', value: 'alert(1)' }] },
      { type: 'element', tagName: 'span', properties: { className: ['hljs-keyword', 'evil'], onClick: 'alert(2)', style: 'color:red' }, children: [{ type: 'text', value: 'const' }] },
      { type: 'element', tagName: 'span', properties: { className: ['hljs-title', 'function_'] }, children: [{ type: 'text', value: 'f' }] },
      { type: 'comment', value: 'x' },
      { type: 'text', value: ' <b>' },
    ];
    expect(markup(hostile)).toBe('<span class="hljs-keyword">const</span><span class="hljs-title function_">f</span> &lt;b&gt;');
  });
});
