import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const RULE = '@nx/enforce-module-boundaries';

/**
 * The Nx tag constraints in eslint.config.js, exercised on imports linted as if they stood in existing
 * files of each project (the text is linted in memory; nothing is written to the tree).
 */
describe('module boundaries', () => {
  let eslint: ESLint;

  beforeAll(() => {
    // The rule reads Nx's cached project graph and silently skips itself without one.
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'show', 'projects'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      stdio: 'ignore',
    });
    // Under CI=true typescript-eslint builds its program from disk ("single run") and would lint the file's
    // saved text instead of ours.
    eslint = new ESLint({
      cwd: REPO_ROOT,
      overrideConfig: { languageOptions: { parserOptions: { disallowAutomaticSingleRunInference: true } } },
    });
  }, 60_000);

  /** The messages `ruleId` reports on `code` linted as if it stood in `file`. */
  async function ruleMessages(ruleId: string, file: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, file) });
    const messages = result?.messages ?? [];
    // A parse failure would make every "allowed" case pass for the wrong reason.
    expect(messages.filter((message) => message.fatal)).toEqual([]);
    return messages.filter((message) => message.ruleId === ruleId).map((message) => message.message);
  }
  const boundaryErrors = (file: string, code: string): Promise<string[]> => ruleMessages(RULE, file, code);

  it.each([
    ['contracts importing a util lib', 'libs/contracts/src/errors.ts', "import { loadConfig } from '@wagw/config';\nexport const x = loadConfig;\n", /type:contracts/],
    ['a util lib importing data access', 'libs/config/src/load-config.ts', "import { isUuid } from '@wagw/db';\nexport const x = isUuid;\n", /type:util/],
    ['production code importing the testing lib', 'apps/webhook-dispatcher/src/app.ts', "import { startTestJwks } from '@wagw/testing';\nexport const x = startTestJwks;\n", /type:app/],
    ['a lib importing an app', 'libs/command-client/src/index.ts', "import { createWebhookDispatcher } from '@wagw/webhook-dispatcher';\nexport const x = createWebhookDispatcher;\n", /apps are forbidden/],
    ['an app importing another app', 'apps/session-worker/src/app.ts', "import { createApiGateway } from '@wagw/api-gateway';\nexport const x = createApiGateway;\n", /apps are forbidden/],
  ])('rejects %s', async (_, file, code, expected) => {
    const errors = await boundaryErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(expected);
  });

  it.each([
    ['an app importing feature libs', 'apps/api-gateway/src/app.ts', "import { AuthModule } from '@wagw/auth';\nexport const x = AuthModule;\n"],
    ['a spec file importing the testing lib', 'apps/api-gateway/src/bearer-auth.spec.ts', "import { startTestJwks } from '@wagw/testing';\nexport const x = startTestJwks;\n"],
    ['a feature lib importing contracts', 'libs/auth/src/bearer-token.ts', "import { GatewayError } from '@wagw/contracts';\nexport const x = GatewayError;\n"],
  ])('allows %s', async (_, file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });

  const restrictedImports = (file: string, code: string): Promise<string[]> => ruleMessages('no-restricted-imports', file, code);

  it.each([
    ['the session runtime', 'libs/session-runtime/src/session-runner.ts'],
    ['the gateway', 'apps/api-gateway/src/app.ts'],
    ['the command client', 'libs/command-client/src/session-commands.service.ts'],
  ])('rejects Baileys in %s', async (_, file) => {
    const errors = await restrictedImports(file, "import { proto } from '@whiskeysockets/baileys';\nexport const x = proto;\n");
    expect(errors).toEqual([expect.stringMatching(/Baileys stays inside libs\/whatsapp/)]);
  });

  it.each([
    ['the WhatsApp adapter', 'libs/whatsapp/src/inbound.ts'],
    ['the emulator', 'libs/wa-emulator/src/wa-emulator.ts'],
    ['an end-to-end test', 'tools/e2e/revoke-path.spec.ts'],
  ])('allows Baileys in %s', async (_, file) => {
    expect(await restrictedImports(file, "import { proto } from '@whiskeysockets/baileys';\nexport const x = proto;\n")).toEqual([]);
  });

  const systemScopeImports = (file: string): Promise<string[]> =>
    ruleMessages('@typescript-eslint/no-restricted-imports', file, "import { SessionPlacementRepository } from '@wagw/db/system';\nexport const x = SessionPlacementRepository;\n");

  it.each([
    ['the gateway', 'apps/api-gateway/src/app.ts'],
    ['the command client', 'libs/command-client/src/session-lifecycle.service.ts'],
    ['the webhook endpoints service', 'libs/webhook-endpoints/src/webhook-endpoints.service.ts'],
    ['authentication', 'libs/auth/src/api-keys.service.ts'],
  ])('rejects system scope in %s', async (_, file) => {
    expect(await systemScopeImports(file)).toEqual([expect.stringMatching(/System scope \(every organization\) is for the session workers/)]);
  });

  it.each([
    ['the session runtime', 'libs/session-runtime/src/session-host.ts'],
    ['the dispatcher', 'libs/webhook-delivery/src/webhook-dispatcher.ts'],
    ['the worker app', 'apps/session-worker/src/app.module.ts'],
    ['tooling', 'tools/cli/src/bootstrap.ts'],
  ])('allows system scope in %s', async (_, file) => {
    expect(await systemScopeImports(file)).toEqual([]);
  });

  it('keeps Baileys out of the running gateway: loading the built api-gateway loads none of it', () => {
    // Run after the build (npm test builds first). The gateway checks senders through @wagw/whatsapp/jids alone.
    const hook = join(REPO_ROOT, 'tools', 'workspace', 'test', 'report-baileys-loads.mjs');
    const gateway = spawnStderr(join(REPO_ROOT, 'apps', 'api-gateway', 'dist', 'index.js'), hook);
    expect(gateway).toContain('imported');
    expect(gateway).not.toContain('baileys-loaded');
    // The probe does see Baileys where it is loaded: the worker.
    expect(spawnStderr(join(REPO_ROOT, 'apps', 'session-worker', 'dist', 'index.js'), hook)).toContain('baileys-loaded');
  });
});

/** What importing `entry` (a built app's index) writes to stderr, with `hook` reporting the modules it loads. */
function spawnStderr(entry: string, hook: string): string {
  const result = spawnSync(process.execPath, ['--import', hook, '--input-type=module', '-e', `await import(${JSON.stringify(entry)}); process.stderr.write('imported\\n');`], { encoding: 'utf8' });
  return result.stderr;
}
