import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readElfInfo, versionAtLeast } from './elf-info.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-elf-'));
function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A minimal ELF header (no sections) for the given class and machine. */
function elfHeader(bits: 32 | 64, machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = bits === 64 ? 2 : 1;
  b[5] = 1; // little-endian
  b[6] = 1;
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(machine, 18);
  return b;
}

describe('readElfInfo', () => {
  it('reads the CPU and the glibc versions a real binary needs', () => {
    const node = readElfInfo(process.execPath);
    expect(node.nodeArch).toBe(process.arch);
    expect(node.glibcNeeded).toMatch(/^2\.\d+$/);
    expect(node.needed).toContain('libc.so.6');
  });

  it('names the CPU of a library built for another machine', () => {
    expect(readElfInfo(file('arm.so', elfHeader(64, 183)))).toMatchObject({ bits: 64, machineName: 'AArch64 (ARM64)', nodeArch: 'arm64', glibcNeeded: null });
    expect(readElfInfo(file('x86.so', elfHeader(32, 3)))).toMatchObject({ bits: 32, nodeArch: 'ia32' });
  });

  it('survives section tables that point outside the file', () => {
    const b = elfHeader(64, 62);
    b.writeBigUInt64LE(1n << 40n, 40); // e_shoff far away
    b.writeUInt16LE(64, 58);
    b.writeUInt16LE(30, 60);
    expect(readElfInfo(file('broken.so', b))).toMatchObject({ nodeArch: 'x64', needed: [], versionsNeeded: [] });
  });

  it('says what a file is when it is not a Linux library', () => {
    expect(() => readElfInfo(file('x.dll', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100)])))).toThrow(/not a Linux shared library .*Windows DLL/);
    expect(() => readElfInfo(file('x.tgz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100)])))).toThrow(/\.tgz archive/);
    expect(() => readElfInfo(file('short', Buffer.from('\x7fELF')))).toThrow(/no ELF header/);
    expect(() => readElfInfo(join(dir, 'missing.so'))).toThrow(/cannot read .*ENOENT/);
  });
});

describe('versionAtLeast', () => {
  it('compares dotted versions numerically', () => {
    expect(versionAtLeast('2.36', '2.17')).toBe(true);
    expect(versionAtLeast('2.9', '2.17')).toBe(false);
    expect(versionAtLeast('2.17', '2.17')).toBe(true);
    expect(versionAtLeast('2.2.5', '2.2')).toBe(true);
  });
});
