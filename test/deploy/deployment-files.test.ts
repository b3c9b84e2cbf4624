/**
 * The deployment files cannot be run here (no Docker engine), so this checks what can be checked:
 * they parse, and they agree with each other and with the README's Production section, which is
 * what an operator reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const read = (name: string) => readFileSync(join(root, name), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** The rows of the README's table of ports and volumes: [kind, name, where]. */
function productionTable(): string[][] {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('\n## Production\n'));
  expect(section.length, 'README has a Production section').toBeGreaterThan(20);
  return section
    .split('\n')
    .filter((line) => /^\| (port|volume|bind) \|/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map(
          (cell) =>
            cell
              .trim()
              .replace(/^`|`(?=:|$)/g, '')
              .split('`')[0]!,
        ),
    );
}

describe('deployment files', () => {
  const compose = parse(read('compose.yaml')) as ComposeFile;
  const archive = compose.services.archive!;

  it('compose parses and publishes exactly the ports and volumes the README names', () => {
    const table = productionTable();
    const ports = table.filter(([kind]) => kind === 'port').map(([, name]) => name!);
    const named = table.filter(([kind]) => kind === 'volume').map(([, name]) => name!);
    const binds = table.filter(([kind]) => kind === 'bind').map(([, name]) => name!);
    expect(ports).toEqual(archive.ports);
    expect(named.sort()).toEqual(Object.keys(compose.volumes).sort());
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []);
    for (const [kind, name, where] of table.filter(([kind]) => kind !== 'port')) {
      const target = where!.split(':')[0]!.split(' ')[0]!;
      expect(
        mounts.some((m) => m === `${name}:${target}` || m.startsWith(`${name}:${target}:`)),
        `${kind} ${name} → ${target} is mounted`,
      ).toBe(true);
    }
    expect(binds.every((b) => b.startsWith('./'))).toBe(true);
  });

  it('compose keeps the archive on the loopback and waits for a healthy PostgreSQL', () => {
    expect(archive.ports!.every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
    expect(archive.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(archive.environment?.WECOM_ARCHIVE_DB).toMatch(/^postgres:\/\/.+@postgres:5432\//);
  });

  it('the image is Debian slim, runs as a non-root user, has ffmpeg, and checks /healthz on the port it exposes', () => {
    const dockerfile = read('Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.at(-1)).toBe('node:20-bookworm-slim');
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\bffmpeg\b/);
    const exposed = dockerfile.match(/^EXPOSE (\d+)/m)?.[1];
    expect(archive.ports!.map((p) => p.split(':').at(-1))).toEqual([exposed]);
    expect(dockerfile).toMatch(new RegExp(`HEALTHCHECK[\\s\\S]*127\\.0\\.0\\.1:${exposed}/healthz`));
    expect(dockerfile).toContain(`"--listen", "0.0.0.0:${exposed}"`);
  });

  it('the systemd unit runs the archive as its own user with a private data directory', () => {
    const unit = read('deploy/wecom-archive.service');
    expect(unit).toMatch(/^ExecStart=\S+\/bin\/wecom-archive run\b/m);
    expect(unit).toMatch(/^User=(?!root$)\S+$/m);
    expect(unit).toMatch(/^UMask=0077$/m);
  });
});
