import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * The layers of lib/, lowest first: a folder imports only from the folders before it (and from
 * itself). The pure rules at the bottom, the HTTP shell and the start-up checks at the top, the
 * module files (lib/*.ts) above everything; the testing entry stands apart on core and options.
 * Cycles between files of one folder are caught by .ci/import-cycles.mjs.
 */
const LAYERS = [
  'core', // pure rules: tokens, time, policies, errors of programming
  'errors', // the HTTP-facing exceptions and their denial codes
  'options', // option table, resolution, the options token
  'events', // event types and the event bus
  'storage', // persistence of sessions and remember-me tokens
  'lifecycle', // a session's lifecycle: load, write, regenerate, revoke, and its service
  'remember-me', // remember-me issue, restore and theft response
  'csrf', // CSRF tokens and request provenance
  'user', // the app's user for a signed-in session
  'decorators', // metadata and parameter decorators
  'http', // guard, responder, save hooks: the only code that reads requests and writes headers
  'sockets', // WebSocket gateways: handshake, per-message sessions, live sign-out of open sockets
  'diagnostics', // start-up checks
];
const ROOT_FILES = ['index', 'session.module', 'session.module-definition'].flatMap((name) => [
  `../${name}`,
  `../../${name}`,
]);

/** Relative import paths into `folders` from a file one or two levels down in lib/. */
function importsFrom(folders) {
  return folders.flatMap((folder) => [
    `../${folder}`,
    `../${folder}/*`,
    `../../${folder}`,
    `../../${folder}/*`,
  ]);
}

const layerRules = [
  ...LAYERS.map((layer, index) => ({
    files: [`lib/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: importsFrom([...LAYERS.slice(index + 1), 'testing']),
              message: `lib/${layer} may import only from ${LAYERS.slice(0, index + 1).join(', ')} (see LAYERS in eslint.config.mjs).`,
            },
            {
              group: ROOT_FILES,
              message: 'The module files and the barrel sit above every folder.',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['lib/testing/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: importsFrom(LAYERS.filter((layer) => !['core', 'options'].includes(layer))),
              message: 'The testing entry uses only core and options: it must not load the module.',
            },
            {
              group: ROOT_FILES,
              message: 'The module files and the barrel sit above every folder.',
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist',
      'dist-sample',
      'dist-bench',
      'node_modules',
      'coverage',
      '.sample-data',
      'bench/results',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  ...layerRules,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        __dirname: 'readonly',
      },
    },
  },
);
