// @ts-check
/**
 * ESLint (flat config): the layer rules of issue 11 plus the recommended rule sets the code already passes.
 * Run by `npm run lint` and by `npm test` (scripts/test-all.mjs, right after the typecheck).
 *
 * Layers (src/engine/README.md, src/app/README.md, src/schedulers/README.md):
 *   schedulers <- engine <- app, and export <- app.
 *   - src/schedulers imports nothing outside src/schedulers (no packages either; its tests and test helpers may use
 *     vitest and node: built-ins).
 *   - only src/engine/ort.ts imports onnxruntime-web (src/engine/worker.ts imports the wasm files as `?url` assets).
 *   - src/app (and src/export) import the engine only through its public entry point, src/engine/index.ts.
 *   - src/engine and src/export import no app code.
 *   - outside src/schedulers, schedulers are imported through their index (`../schedulers`), never a file of it.
 * A ban is a regular expression over the import specifier. It is checked by `no-restricted-imports` (import and
 * export ... from, type-only ones too) and by `no-restricted-syntax` for the two forms that rule does not see:
 * `import('...')` expressions and `import('...').T` type references.
 * tests/eslintLayers.test.ts lints small files placed in each layer and expects these errors, so the rules can't
 * silently stop matching.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** @typedef {{ regex: string, message: string }} Ban */

/** @type {Ban} */
const ORT = {
  regex: '^onnxruntime-web($|/)',
  message: 'Only src/engine/ort.ts imports onnxruntime-web: add what you need to ort.ts and import it from there.',
};
/** worker.ts may import onnxruntime-web's runtime files as URLs (`?url`): Vite serves them; no ORT code is loaded. */
const ORT_EXCEPT_URL_ASSETS = { ...ORT, regex: '^onnxruntime-web($|/(?!.*\\?url$))' };

/** @type {Ban} */
const NO_APP = { regex: '^(\\.\\./)+app($|/)', message: 'This layer imports no app code (src/app depends on it, not the other way round).' };

/** @type {Ban} */
const SCHEDULERS_INDEX_ONLY = {
  regex: '^(\\.\\./)+schedulers/',
  message: "Import the schedulers through their public index ('…/schedulers'), not one of their files.",
};

/**
 * The engine's public entry point for app code: src/engine/index.ts (`'…/engine'`), an explicit export list (the
 * request and event types of protocol.ts included). See src/engine/README.md.
 * @type {Ban}
 */
const ENGINE_PUBLIC_ONLY = {
  regex: '^(\\.\\./)+engine/(?!index$)',
  message: "App and export code import the engine only through its public entry point, '…/engine' (src/engine/index.ts).",
};

/**
 * src/schedulers imports nothing outside itself: no package, and no relative path that climbs out of the folder
 * (for a file `depth` folders below src/schedulers, `depth + 1` leading `../`).
 * @param {number} depth
 * @param {boolean} test  tests may use vitest and node: built-ins (to read the parity fixtures)
 * @returns {Ban[]}
 */
function schedulersSelfContained(depth, test) {
  return [
    {
      regex: test ? '^(?!vitest$|node:)[^.]' : '^[^.]',
      message: 'src/schedulers is pure TypeScript: it imports no package (no DOM, no ORT).',
    },
    { regex: `^(\\.\\./){${depth + 1}}`, message: 'src/schedulers imports nothing outside src/schedulers.' },
  ];
}

/**
 * The two rules that enforce a list of bans. `no-restricted-syntax` takes esquery selectors, whose regex literals
 * cannot contain `/`; `\x2F` is the same character to RegExp.
 * @param {Ban[]} bans
 */
function restrict(bans) {
  const selector = (/** @type {string} */ re) => re.replaceAll('/', '\\x2F');
  return {
    'no-restricted-imports': ['error', { patterns: bans.map(({ regex, message }) => ({ regex, message })) }],
    'no-restricted-syntax': [
      'error',
      ...bans.flatMap(({ regex, message }) => [
        { selector: `ImportExpression[source.value=/${selector(regex)}/]`, message },
        { selector: `TSImportType[source.value=/${selector(regex)}/]`, message },
      ]),
    ],
  };
}

const TS = '{ts,tsx,mts}';
const TESTS = `{*.test,test*}.${TS}`;

export default defineConfig([
  // training/ is the PyTorch project; its two Node checkers (verify_node.mjs, parity_check.mjs) load onnxruntime-web
  // on purpose, independently of src/, to check the exported models.
  globalIgnores(['dist/', 'node_modules/', 'public/', 'bench/results/', 'test-results/', 'playwright-report/', 'training/', 'models/', 'fixtures/', 'runs/', 'tmp/', '.cache/']),

  // Recommended sets, without type information (fast). Rules the code does not pass yet are listed, with why.
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `catch {}` placeholders are deliberate in several places (best-effort cleanup).
      'no-empty': ['error', { allowEmptyCatch: true }],
      // `const { dropped, ...rest } = x` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Off: it flags `let x: T | null = null; try { x = await f(); } ...`, the initialisation strict TS asks for.
      'no-useless-assignment': 'off',
    },
  },
  {
    // The float32 math constants are copied digit for digit from the C sources it ports (cephes, via PyTorch).
    files: ['src/schedulers/rng.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
  {
    files: ['src/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    files: ['**/*.{js,mjs}', 'tests/**', 'e2e/**', 'bench/**', 'scripts/**', '*.config.ts'],
    // e2e specs and the bench also run callbacks in the page (page.evaluate), hence the browser globals.
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },

  // ---- layer rules. A file gets the rules of the last block that matches it, so each block lists all its bans.
  { files: [`**/*.${TS}`, '**/*.{js,mjs}'], rules: restrict([ORT]) },
  { files: [`src/schedulers/*.${TS}`], rules: restrict([ORT, ...schedulersSelfContained(0, false)]) },
  { files: [`src/schedulers/*/*.${TS}`], rules: restrict([ORT, ...schedulersSelfContained(1, false)]) },
  { files: [`src/schedulers/*/*/**/*.${TS}`], rules: restrict([ORT, ...schedulersSelfContained(2, false)]) },
  // Tests and their helpers (`*.test.ts`, `test*.ts` such as testUtil.ts) may use vitest and node: built-ins.
  { files: [`src/schedulers/${TESTS}`], rules: restrict([ORT, ...schedulersSelfContained(0, true)]) },
  { files: [`src/schedulers/*/**/${TESTS}`], rules: restrict([ORT, ...schedulersSelfContained(1, true)]) },
  { files: [`src/engine/**/*.${TS}`], rules: restrict([ORT, NO_APP, SCHEDULERS_INDEX_ONLY]) },
  { files: ['src/engine/ort.ts'], rules: restrict([NO_APP, SCHEDULERS_INDEX_ONLY]) },
  { files: ['src/engine/worker.ts'], rules: restrict([ORT_EXCEPT_URL_ASSETS, NO_APP, SCHEDULERS_INDEX_ONLY]) },
  { files: [`src/app/**/*.${TS}`], rules: restrict([ORT, ENGINE_PUBLIC_ONLY, SCHEDULERS_INDEX_ONLY]) },
  { files: [`src/export/**/*.${TS}`], rules: restrict([ORT, NO_APP, ENGINE_PUBLIC_ONLY, SCHEDULERS_INDEX_ONLY]) },
  // The CLI (Node) imports like the app: the engine's public entry points only (index.ts, and node.ts, its Node
  // surface: in-process engine, disk cache, model report), src/export, the schedulers' index; no app code, no ORT.
  {
    files: [`src/cli/**/*.${TS}`],
    rules: restrict([
      ORT,
      NO_APP,
      SCHEDULERS_INDEX_ONLY,
      { ...ENGINE_PUBLIC_ONLY, regex: '^(\\.\\./)+engine/(?!(index|node)$)', message: "The CLI imports the engine only through '…/engine' (index.ts) and '…/engine/node' (node.ts)." },
    ]),
  },
]);
