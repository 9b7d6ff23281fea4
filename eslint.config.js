import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'test-output/', 'web/dist/', 'web/src/contract/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Layers point down: the HTTP, auth, storage, image, database and configuration layers know
    // nothing of the modules built on them.
    files: ['src/http/**/*.ts', 'src/auth/**/*.ts', 'src/storage/**/*.ts', 'src/images/**/*.ts', 'src/db/**/*.ts', 'src/*.ts'],
    ignores: ['src/app.ts', 'src/server.ts', 'src/cli.ts', 'src/cli-import.ts', 'src/services.ts', 'src/jobs.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/modules/**'], message: 'Lower layers do not import modules: move the type to its owner.' }] },
      ],
    },
  },
  {
    // Services, repositories, inputs and views take typed values and return domain data; only the
    // routes know Fastify.
    files: ['src/modules/**/*.ts'],
    ignores: ['src/modules/**/routes.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['fastify', '@fastify/*'], message: 'Only routes.ts speaks HTTP; pass typed values in.' }] },
      ],
    },
  },
  {
    files: ['src/db/**/*.ts'],
    // Kysely's migrations are written against Kysely<any> by design: they run before the types exist.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
