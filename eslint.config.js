// Lint runs in `npm test` with type information (see docs/decisions/2026-12-02-linter.md).
// The rule set is deliberately short: what the compiler cannot catch and a review misses.
import tseslint from 'typescript-eslint';

// `.only` on any test function (describe.only, it.concurrent.only, test.only …) silently skips
// the rest of the suite.
const focusedTest =
  "MemberExpression[property.name='only'][object.name=/^(describe|it|test|suite|bench)$/], " +
  "MemberExpression[property.name='only'][object.object.name=/^(describe|it|test|suite|bench)$/]";

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'packages/web/public/**', '**/*.mjs', '**/*.js', '**/*.sh'],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: ['./tsconfig.check.json', './packages/web/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-unused-private-class-members': 'error',
      'no-unused-labels': 'error',
      'no-unreachable': 'error',
      'no-restricted-syntax': ['error', { selector: focusedTest, message: 'Focused test (.only) skips the rest of the suite.' }],
    },
  },
);
