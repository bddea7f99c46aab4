import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * Who may import whom. Production code may never import `type:testing`; test files may. Apps are
 * imported by nothing, and contracts by everything but import nothing of ours.
 */
/**
 * OpenAPI decorators are the gateway's: it alone serves the document, and @nestjs/swagger costs about
 * 20 MiB resident in every process that loads it.
 */
const gatewayOnlyPackages = ['@nestjs/swagger'];
const productionConstraints = [
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: gatewayOnlyPackages },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'], bannedExternalImports: gatewayOnlyPackages },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access'], bannedExternalImports: gatewayOnlyPackages },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access', 'type:feature'], bannedExternalImports: gatewayOnlyPackages },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access', 'type:feature'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:data-access', 'type:feature', 'type:testing'] },
];
const withTesting = productionConstraints.map((constraint) =>
  constraint.sourceTag === 'type:contracts' ? constraint : { ...constraint, onlyDependOnLibsWithTags: [...constraint.onlyDependOnLibsWithTags, 'type:testing'] },
);
const boundaries = (depConstraints) => [
  'error',
  { enforceBuildableLibDependency: false, allow: [], banTransitiveDependencies: false, depConstraints },
];
/** The rules every production file follows, server (Node) and dashboard (browser) alike. */
const productionRules = {
  '@nx/enforce-module-boundaries': boundaries(productionConstraints),
  '@typescript-eslint/no-explicit-any': 'error',
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/switch-exhaustiveness-check': 'error',
  '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
  // zod compiles a schema's fast path on its first parse: one built inside a function (per request) is
  // compiled again on every call. Factories that run once, at module load, say so with a disable comment.
  'no-restricted-syntax': [
    'error',
    {
      selector: ":function CallExpression[callee.object.name='z'][callee.property.name!=/^(toJSONSchema|prettifyError|treeifyError|flattenError)$/]",
      message: 'Build zod schemas once, at module level: one built per call is compiled again on every parse.',
    },
  ],
};
const baileysRestriction = {
  paths: [{ name: '@whiskeysockets/baileys', message: 'Baileys stays inside libs/whatsapp: use its adapter (WhatsAppConnection, InboundEvent, SentMessage).' }],
  patterns: [{ group: ['@whiskeysockets/baileys/*'], message: 'Baileys stays inside libs/whatsapp.' }],
};
const testFiles = ['**/*.spec.ts', '**/*.test.ts', '**/*.fixture.ts', '**/test/**/*.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/db/src/generated/**', '.data/**', '.nx/**', '.scratch/**', '**/*.js', '**/*.mjs', 'prisma.config.ts'] },
  {
    files: ['**/*.ts'],
    ignores: ['apps/dashboard/**'],
    extends: [tseslint.configs.recommended],
    plugins: { '@nx': nx },
    languageOptions: { parserOptions: { project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname } },
    rules: productionRules,
  },
  {
    // The dashboard runs in browsers (DOM types, Preact's JSX): its own TypeScript project.
    files: ['apps/dashboard/**/*.ts', 'apps/dashboard/**/*.tsx'],
    extends: [tseslint.configs.recommended],
    plugins: { '@nx': nx },
    languageOptions: { parserOptions: { project: ['./apps/dashboard/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    rules: productionRules,
  },
  {
    files: testFiles,
    rules: { '@nx/enforce-module-boundaries': boundaries(withTesting) },
  },
  {
    // Baileys is a detail of the WhatsApp adapter: the rest of the product speaks our own terms. The
    // emulator (WhatsApp's stand-in, speaking the protocol with Baileys' codecs) and tests that check
    // protocol-level results may use it.
    files: ['**/*.ts'],
    ignores: ['libs/whatsapp/**', 'libs/wa-emulator/**', 'tools/e2e/**', ...testFiles],
    rules: { 'no-restricted-imports': ['error', baileysRestriction] },
  },
  {
    // The emulator is tooling (tests, the demo, benchmarks). A product process that talks to one needs
    // only its certificate trust, `@wagw/wa-emulator/trust`, not its servers (19 modules in the worker).
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/whatsapp/**', 'libs/wa-emulator/**', 'libs/testing/**', ...testFiles],
    rules: {
      'no-restricted-imports': [
        'error',
        { ...baileysRestriction, paths: [...baileysRestriction.paths, { name: '@wagw/wa-emulator', message: 'Product code imports only @wagw/wa-emulator/trust: the emulator itself is tooling.' }] },
      ],
    },
  },
  {
    // Queries over every organization are for the processes that work for all of them (session workers,
    // the webhook dispatcher) and for tooling; the gateway and what it runs reach rows only by orgId.
    files: ['**/*.ts'],
    ignores: ['apps/session-worker/**', 'apps/webhook-dispatcher/**', 'libs/session-runtime/**', 'libs/webhook-delivery/**', 'libs/db/**', 'libs/testing/**', 'tools/**', ...testFiles],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: '@wagw/db/system', message: 'System scope (every organization) is for the session workers, the dispatcher and tooling: reach tenant rows through @wagw/db, by orgId.' }] }],
    },
  },
);
