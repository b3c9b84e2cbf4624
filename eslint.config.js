// Lint rules for the whole repository, plus the import boundaries between src/ folders.
// Boundaries are written by folder (`src/media/**`) or by file name anywhere below a folder
// (`src/media/**/media-jobs.ts`), so they keep working when files move into subfolders.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/** An absolute glob: the boundary rule matches exception globs against absolute file paths (and takes only globs). */
const abs = (glob) => join(root, glob);

/** Source files below `dir`, leaving out unit tests and the named files (base names without extension). */
const codeIn = (dir, leaveOut = []) => `${dir}/**/!(${['*.test', ...leaveOut].join('|')}).{ts,mjs}`;

/**
 * The stages of the pipeline. A stage hands work on by writing rows the next stage claims, never by importing it.
 * `reading` (what the HTTP edge calls to read the archive through a caller's scope) is a consumer of the
 * store held to the same rule: no stage depends on how the archive is read, and reading uses no stage's logic.
 */
const STAGES = ['pull', 'decrypt', 'media', 'callbacks', 'directory', 'search', 'outbox', 'reading'];

/**
 * The only modules of one stage another stage may import, by importing stage.
 * Each is the row-writing side of the receiving stage's queue, not its logic.
 */
const STAGE_ENTRY_POINTS = {
  // Decrypt inserts a message's media job rows in the transaction that stores the decrypted message,
  // so a message is never archived without the jobs that fetch its files (zero loss).
  // Likewise it queues each stored message for the search index in that transaction, so none is
  // ever left out of the index.
  // And it records each stored message as an outbox event in that transaction, so no message is
  // archived without its event, nor an event sent for a message that was not stored; and in its
  // conversation's summary row and participants, so the conversation list always agrees with the messages.
  decrypt: ['src/media/**/media-job-repository.ts', 'src/search/**/search-pending.ts', 'src/outbox/**/outbox-writer.ts', 'src/reading/**/conversation-summary.ts'],
  // A stored file's event is written in the transaction that records the job's final state.
  media: ['src/outbox/**/outbox-writer.ts'],
  // Reading tells members, customers and robots apart by their ids, as the directory does (a leaf module).
  reading: ['src/directory/**/id-kinds.ts'],
  // Contact-change callbacks enqueue directory refresh rows through the DirectoryStore they are handed
  // (a type import: the composition root passes the instance in).
  callbacks: ['src/directory/**/directory-store.ts'],
  // A directory change's event is written in the transaction that records it in the name history.
  directory: ['src/outbox/**/outbox-writer.ts'],
};

/**
 * What the store may use besides src/runtime and src/errors. Each is a leaf module that imports nothing
 * but runtime/errors/libraries itself, so the store still sits below every stage.
 */
const STORE_ALLOWED = [
  // the `Logger` type only (pino's logger type, named in one place)
  'src/app/**/logger.ts',
  // the SQLite dialect creates its database directory with private permissions
  'src/config/**/private-dir.ts',
  // migration 0011 fills the name keys of directory rows written before them, with the same function
  // the directory store writes them with (it imports only pinyin-pro)
  'src/directory/**/name-keys.ts',
  // migration 0013 fills the conversation summary from archived messages with the rules the decrypt
  // commit uses (pure functions; they import only id-kinds, itself a leaf)
  'src/reading/**/conversation-facts.ts',
  'src/directory/**/id-kinds.ts',
];

/** The files that define a stage's class; only the composition root (src/app) constructs them. */
const STAGE_CLASS_FILES = [
  'src/**/corp-archiver.ts', // CorpArchiver: the per-corp pull and decrypt loop
  'src/**/pull-lease.ts', // PullLease
  'src/**/decrypt-stage.ts', // DecryptStage
  'src/**/media-stage.ts', // MediaStage
  'src/**/inbox-worker.ts', // InboxWorker (callbacks)
  'src/**/directory-runner.ts', // DirectoryRunner
  'src/**/directory-sync.ts', // DirectorySync
  'src/**/index-stage.ts', // IndexStage (search)
  'src/**/delivery-stage.ts', // DeliveryStage (outbox)
];

/** Who may import the simulator: itself, the SDK backend that talks to it, and the CLI's demo and simulator commands. */
const SIMULATOR_USERS = { sdk: ['simulator-backend'], cli: ['demo', 'simulator'], app: ['demo'] };

const srcFolders = readdirSync(join(root, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'simulator')
  .map((entry) => entry.name);

const boundaryZones = [
  {
    target: 'src/store/**',
    from: 'src/!(store|runtime|errors)/**',
    except: STORE_ALLOWED.map(abs),
    message: 'The store imports nothing above it: only src/runtime and src/errors (see STORE_ALLOWED).',
  },
  ...STAGES.map((stage) => ({
    target: `src/${stage}/**`,
    from: `src/{${STAGES.filter((other) => other !== stage).join(',')}}/**`,
    except: (STAGE_ENTRY_POINTS[stage] ?? []).map(abs),
    message: 'Stages do not import each other; they hand work on by rows (see STAGE_ENTRY_POINTS).',
  })),
  {
    target: codeIn('src/cli'),
    from: STAGE_CLASS_FILES,
    message: 'Only src/app constructs stages; the CLI asks src/app for them.',
  },
  {
    target: srcFolders.map((folder) => codeIn(`src/${folder}`, SIMULATOR_USERS[folder])),
    from: 'src/simulator/**',
    message: 'Runtime code does not use the simulator (see SIMULATOR_USERS).',
  },
];

export default defineConfig(
  {
    ignores: ['node_modules/', 'dist/', '.dist-*/', 'data/', 'coverage/', '.tmp/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: globals.node,
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // Control characters in regexes are the point: config, corp settings and message text reject or strip them.
      'no-control-regex': 'off',
      // Tests match printed columns, where two literal spaces read as the output does; ` {2}` would not.
      'no-regex-spaces': 'off',
      // A parameter a signature needs but the body does not is named `_x`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Warn only: its findings today are flag and initial values inside the stage loops, left for their owners.
      'no-useless-assignment': 'warn',
    },
  },
  {
    // Migrations take `Kysely<any>` (a migration must not depend on today's schema type) and the dialects
    // work on any table's insert builder; tests reach below the typed API on purpose.
    files: ['src/store/migrations/**', 'src/store/dialects/**', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The web UI and its fixture page run in the browser. Their .vue files are checked by vue-tsc
    // (npm run typecheck:web), not eslint: no Vue parser is installed.
    files: ['web/**/*.ts', 'test/web/fixtures/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['src/**/*.{ts,mjs}'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: boundaryZones }],
    },
  },
);
