// typescript-eslint's recommended rules; workflow code additionally may not reach for IO or clocks.
const { builtinModules } = require('node:module');
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'deepfabric-data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Type-aware rules where a wrong promise costs most: a floating promise in an activity or the
    // CLI is a lost error (or a batch that "finished" before its write), a misused one a handler
    // that never awaits. The type checker answers these; the untyped rules above cannot.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      // Every Node built-in (with and without `node:`) and every IO client: workflow code runs in a
      // deterministic sandbox and must reach the world only through activities.
      'no-restricted-imports': [
        'error',
        { paths: [...new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]), 'openai', '@anthropic-ai/sdk', 'pg', 'yaml'] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Workflow code must be deterministic.' },
        { object: 'Date', property: 'now', message: 'Workflow code must be deterministic.' },
        { object: 'process', property: 'env', message: 'Workflows get no environment: secrets stay in workers.' },
      ],
    },
  },
);
