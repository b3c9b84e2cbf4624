import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

/** Lints a file at `importer` (it need not exist) holding one import of `specifier`; true when a boundary rule reports it. */
async function crossesBoundary(importer: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import '${specifier}';\n`, { filePath: join(root, importer) });
  const fatal = result!.messages.filter((m) => m.fatal);
  expect(fatal).toEqual([]);
  return result!.messages.some((m) => m.ruleId === 'import-x/no-restricted-paths');
}

describe('the store imports nothing above it', () => {
  it('rejects a stage, accepts runtime, errors and the listed leaf modules', async () => {
    expect(await crossesBoundary('src/store/probe.ts', '../media/media-jobs.ts')).toBe(true);
    expect(await crossesBoundary('src/store/dialects/probe.ts', '../../archiver/corp-archiver.ts')).toBe(true);
    expect(await crossesBoundary('src/store/probe.ts', '../runtime/backoff.ts')).toBe(false);
    expect(await crossesBoundary('src/store/probe.ts', '../errors/errors.ts')).toBe(false);
    expect(await crossesBoundary('src/store/probe.ts', '../app/logger.ts')).toBe(false);
    expect(await crossesBoundary('src/store/probe.ts', '../app/app.ts')).toBe(true);
  });
});

describe('stages do not import each other', () => {
  it("rejects another stage's internals, from any depth", async () => {
    expect(await crossesBoundary('src/decrypt/probe.ts', '../media/media-stage.ts')).toBe(true);
    expect(await crossesBoundary('src/media/sub/probe.ts', '../../decrypt/decrypt-stage.ts')).toBe(true);
    expect(await crossesBoundary('src/callbacks/probe.ts', '../directory/directory-sync.ts')).toBe(true);
    expect(await crossesBoundary('src/directory/probe.ts', '../pull/pull-page.ts')).toBe(true);
  });

  it('accepts only the entry points listed for the importing stage', async () => {
    expect(await crossesBoundary('src/decrypt/probe.ts', '../media/media-jobs.ts')).toBe(false);
    expect(await crossesBoundary('src/pull/probe.ts', '../media/media-jobs.ts')).toBe(true);
    expect(await crossesBoundary('src/callbacks/probe.ts', '../directory/directory-store.ts')).toBe(false);
    expect(await crossesBoundary('src/decrypt/probe.ts', '../directory/directory-store.ts')).toBe(true);
  });
});

describe('only src/app constructs stages', () => {
  it('rejects a stage class file in the CLI, accepts src/app and helpers', async () => {
    expect(await crossesBoundary('src/cli/commands/probe.ts', '../../decrypt/decrypt-stage.ts')).toBe(true);
    expect(await crossesBoundary('src/cli/commands/probe.ts', '../../callbacks/inbox-worker.ts')).toBe(true);
    expect(await crossesBoundary('src/cli/commands/probe.ts', '../../app/app.ts')).toBe(false);
    expect(await crossesBoundary('src/cli/commands/probe.ts', '../../decrypt/decrypt-retry.ts')).toBe(false);
  });
});

describe('runtime code does not use the simulator', () => {
  it('rejects it outside the SDK backend, the demo and simulator commands and tests', async () => {
    expect(await crossesBoundary('src/api/probe.ts', '../simulator/server.ts')).toBe(true);
    expect(await crossesBoundary('src/sdk/native/probe.ts', '../../simulator/wire.ts')).toBe(true);
    expect(await crossesBoundary('src/cli/commands/status.ts', '../../simulator/server.ts')).toBe(true);
    expect(await crossesBoundary('src/sdk/simulator-backend.ts', '../simulator/wire.ts')).toBe(false);
    expect(await crossesBoundary('src/cli/commands/demo.ts', '../../simulator/server.ts')).toBe(false);
    expect(await crossesBoundary('src/wecom-api/probe.test.ts', '../simulator/server.ts')).toBe(false);
  });
});
