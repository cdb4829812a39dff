import type { Root } from 'hast';
import type { LanguageFn } from 'highlight.js';
import { createLowlight } from 'lowlight';

/**
 * The languages a code block can be highlighted in, each its own chunk loaded the first time a
 * block asks for it [WB60]. The keys are highlight.js's names; the values the fence words that
 * name it besides its own.
 */
const GRAMMARS: Record<string, { load: () => Promise<{ default: LanguageFn }>; aliases: readonly string[] }> = {
  bash: { load: () => import('highlight.js/lib/languages/bash'), aliases: ['sh', 'shell', 'zsh', 'console'] },
  c: { load: () => import('highlight.js/lib/languages/c'), aliases: ['h'] },
  cpp: { load: () => import('highlight.js/lib/languages/cpp'), aliases: ['c++', 'cc', 'cxx', 'hpp'] },
  csharp: { load: () => import('highlight.js/lib/languages/csharp'), aliases: ['cs', 'c#'] },
  css: { load: () => import('highlight.js/lib/languages/css'), aliases: [] },
  dart: { load: () => import('highlight.js/lib/languages/dart'), aliases: [] },
  diff: { load: () => import('highlight.js/lib/languages/diff'), aliases: ['patch'] },
  dockerfile: { load: () => import('highlight.js/lib/languages/dockerfile'), aliases: ['docker'] },
  elixir: { load: () => import('highlight.js/lib/languages/elixir'), aliases: ['ex', 'exs'] },
  go: { load: () => import('highlight.js/lib/languages/go'), aliases: ['golang'] },
  graphql: { load: () => import('highlight.js/lib/languages/graphql'), aliases: ['gql'] },
  haskell: { load: () => import('highlight.js/lib/languages/haskell'), aliases: ['hs'] },
  ini: { load: () => import('highlight.js/lib/languages/ini'), aliases: ['toml', 'conf'] },
  java: { load: () => import('highlight.js/lib/languages/java'), aliases: [] },
  javascript: { load: () => import('highlight.js/lib/languages/javascript'), aliases: ['js', 'jsx', 'mjs', 'cjs'] },
  json: { load: () => import('highlight.js/lib/languages/json'), aliases: ['jsonc', 'json5'] },
  kotlin: { load: () => import('highlight.js/lib/languages/kotlin'), aliases: ['kt', 'kts'] },
  lua: { load: () => import('highlight.js/lib/languages/lua'), aliases: [] },
  makefile: { load: () => import('highlight.js/lib/languages/makefile'), aliases: ['make', 'mk'] },
  markdown: { load: () => import('highlight.js/lib/languages/markdown'), aliases: ['md'] },
  nginx: { load: () => import('highlight.js/lib/languages/nginx'), aliases: [] },
  php: { load: () => import('highlight.js/lib/languages/php'), aliases: [] },
  powershell: { load: () => import('highlight.js/lib/languages/powershell'), aliases: ['ps1', 'pwsh'] },
  python: { load: () => import('highlight.js/lib/languages/python'), aliases: ['py'] },
  r: { load: () => import('highlight.js/lib/languages/r'), aliases: [] },
  ruby: { load: () => import('highlight.js/lib/languages/ruby'), aliases: ['rb'] },
  rust: { load: () => import('highlight.js/lib/languages/rust'), aliases: ['rs'] },
  scala: { load: () => import('highlight.js/lib/languages/scala'), aliases: [] },
  scss: { load: () => import('highlight.js/lib/languages/scss'), aliases: [] },
  sql: { load: () => import('highlight.js/lib/languages/sql'), aliases: ['postgres', 'postgresql', 'sqlite'] },
  swift: { load: () => import('highlight.js/lib/languages/swift'), aliases: [] },
  typescript: { load: () => import('highlight.js/lib/languages/typescript'), aliases: ['ts', 'tsx', 'mts', 'cts'] },
  xml: { load: () => import('highlight.js/lib/languages/xml'), aliases: ['html', 'svg', 'xhtml'] },
  yaml: { load: () => import('highlight.js/lib/languages/yaml'), aliases: ['yml'] },
};

const BY_WORD = new Map<string, string>();
for (const [name, { aliases }] of Object.entries(GRAMMARS)) {
  BY_WORD.set(name, name);
  for (const alias of aliases) BY_WORD.set(alias, name);
}

/**
 * The grammar a code block's fence word names (` ```ts `, ` ```Python `), or null when none of
 * ours does: that block stays plain text.
 */
export function grammarOf(word: string): string | null {
  return BY_WORD.get(word.trim().toLowerCase()) ?? null;
}

const lowlight = createLowlight();
const loading = new Map<string, Promise<void>>();

/** Loads a grammar once; later calls share the first load. */
export function loadGrammar(name: string): Promise<void> {
  const grammar = GRAMMARS[name];
  if (!grammar) return Promise.reject(new Error(`no grammar ${name}`));
  let load = loading.get(name);
  if (!load) {
    load = grammar.load().then((module) => lowlight.register(name, module.default));
    // A failed load (a network hiccup) may be tried again by the next block.
    load.catch(() => loading.delete(name));
    loading.set(name, load);
  }
  return load;
}

export function grammarLoaded(name: string): boolean {
  return lowlight.registered(name);
}

/**
 * The code as a tree of text and `<span class="hljs-…">` elements, nothing else: the code is
 * never parsed as markup, so `<script>` in it stays the text it is. Null until the grammar is loaded.
 */
export function highlight(code: string, name: string): Root | null {
  if (!lowlight.registered(name)) return null;
  return lowlight.highlight(name, code);
}
