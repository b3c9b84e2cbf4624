import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

/** Lints a file at `importer` (it need not exist) holding one import of `specifier`; true when a boundary rule reports it. */
async function crossesBoundary(importer: string, specifier: string): Promise<boolean> {
  // an import of a file that does not exist is never reported, so every case names a real file
  expect(existsSync(resolve(dirname(join(root, importer)), specifier)), specifier).toBe(true);
  const [result] = await eslint.lintText(`import '${specifier}';\n`, { filePath: join(root, importer) });
  expect(result!.messages.filter((m) => m.fatal)).toEqual([]);
  return result!.messages.some((m) => m.ruleId === 'import-x/no-restricted-paths');
}

type Case = [importer: string, specifier: string, crosses: boolean];

const rules: Record<string, Case[]> = {
  'the store imports nothing above it, except runtime, errors and the listed leaf modules': [
    ['src/store/probe.ts', '../media/jobs/media-job-repository.ts', true],
    ['src/store/dialects/probe.ts', '../../archiver/corp-archiver.ts', true],
    ['src/store/probe.ts', '../app/app.ts', true],
    // the schema's column vocabularies live in store/vocabulary.ts: the decrypt stage's module is above the store
    ['src/store/probe.ts', '../decrypt/wait-reasons.ts', true],
    ['src/store/probe.ts', '../runtime/backoff.ts', false],
    ['src/store/probe.ts', '../errors/errors.ts', false],
    ['src/store/probe.ts', '../app/logger.ts', false],
  ],
  'stages do not import each other, from any depth, except the entry points listed for the importing stage': [
    ['src/decrypt/probe.ts', '../media/media-stage.ts', true],
    ['src/media/sub/probe.ts', '../../decrypt/decrypt-stage.ts', true],
    ['src/callbacks/probe.ts', '../directory/directory-sync.ts', true],
    ['src/directory/probe.ts', '../pull/pull-page.ts', true],
    ['src/pull/probe.ts', '../media/jobs/media-job-repository.ts', true],
    ['src/decrypt/probe.ts', '../directory/directory-store.ts', true],
    ['src/decrypt/probe.ts', '../media/jobs/media-job-repository.ts', false],
    ['src/callbacks/probe.ts', '../directory/directory-store.ts', false],
  ],
  'the CLI does not import stage class files, but src/app and helpers': [
    ['src/cli/commands/probe.ts', '../../decrypt/decrypt-stage.ts', true],
    ['src/cli/commands/probe.ts', '../../callbacks/inbox-worker.ts', true],
    ['src/cli/commands/probe.ts', '../../app/app.ts', false],
    ['src/cli/commands/probe.ts', '../../decrypt/decrypt-retry.ts', false],
  ],
  'only the SDK simulator backend, the demo and simulator commands and tests import the simulator': [
    ['src/api/probe.ts', '../simulator/server.ts', true],
    ['src/sdk/native/probe.ts', '../../simulator/sdk/wire.ts', true],
    ['src/cli/commands/status.ts', '../../simulator/server.ts', true],
    ['src/sdk/simulator-backend.ts', '../simulator/sdk/wire.ts', false],
    ['src/cli/commands/demo.ts', '../../simulator/server.ts', false],
    ['src/wecom-api/probe.test.ts', '../simulator/server.ts', false],
  ],
};

for (const [rule, cases] of Object.entries(rules)) {
  describe(rule, () => {
    it.each(cases)('%s importing %s: reported %s', async (importer, specifier, crosses) => {
      expect(await crossesBoundary(importer, specifier)).toBe(crosses);
    });
  });
}
