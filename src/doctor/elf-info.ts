/**
 * What `doctor` needs to know about a shared library before anything loads it: is it an ELF file,
 * for which CPU, and which glibc symbol versions and libraries it needs. Read from the file's
 * headers only (bounds-checked: the file may be anything).
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors/errors.ts';

export interface ElfInfo {
  bits: 32 | 64;
  littleEndian: boolean;
  /** e_machine */
  machine: number;
  /** 'x86-64', 'AArch64 (ARM64)', … */
  machineName: string;
  /** the matching process.arch, or null for CPUs Node does not name */
  nodeArch: string | null;
  /** DT_NEEDED: libraries it loads, e.g. libcurl.so.4 */
  needed: string[];
  /** symbol versions it needs, e.g. GLIBC_2.14, GLIBCXX_3.4.21, OPENSSL_3.0.0 */
  versionsNeeded: string[];
  /** the highest GLIBC_x.y among them, e.g. '2.17', or null */
  glibcNeeded: string | null;
}

const MACHINES: Readonly<Record<number, [name: string, nodeArch: string]>> = {
  3: ['x86 (32-bit)', 'ia32'],
  40: ['ARM (32-bit)', 'arm'],
  62: ['x86-64', 'x64'],
  183: ['AArch64 (ARM64)', 'arm64'],
  243: ['RISC-V', 'riscv64'],
};

const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1;

class Reader {
  constructor(
    private readonly buf: Buffer,
    private readonly le: boolean,
    private readonly wide: boolean,
  ) {}

  private check(at: number, size: number): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + size > this.buf.length) throw new RangeError('outside the file');
  }

  u16(at: number): number {
    this.check(at, 2);
    return this.le ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  u32(at: number): number {
    this.check(at, 4);
    return this.le ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  /** a word: 32 or 64 bits by the file's class */
  word(at: number): number {
    if (!this.wide) return this.u32(at);
    this.check(at, 8);
    const v = this.le ? this.buf.readBigUInt64LE(at) : this.buf.readBigUInt64BE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('offset too large');
    return Number(v);
  }

  cstring(at: number, max = 256): string {
    this.check(at, 1);
    const end = this.buf.indexOf(0, at);
    if (end < 0 || end - at > max) throw new RangeError('unterminated string');
    return this.buf.toString('latin1', at, end);
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `a` ≥ `b` for dotted versions such as glibc's '2.36' and '2.17'. */
export function versionAtLeast(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/** Reads the ELF headers of `path`; a ValidationError says plainly when it is not a Linux library. */
export function readElfInfo(path: string): ElfInfo {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ValidationError('SDK_LIB_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (buf.length < 64 || buf[0] !== 0x7f || buf.toString('latin1', 1, 4) !== 'ELF') {
    const hint =
      buf.subarray(0, 2).toString('latin1') === 'MZ'
        ? ' (it is a Windows DLL: use the Linux SDK)'
        : buf.readUInt32BE(0) === 0xcffaedfe || buf.readUInt32BE(0) === 0xcafebabe
          ? ' (it is a macOS binary: use the Linux SDK)'
          : buf.subarray(0, 2).toString('latin1') === '\x1f\x8b'
            ? ' (it is a .tgz archive: unpack it and point to the .so inside)'
            : '';
    throw new ValidationError('SDK_LIB_NOT_ELF', `${path} is not a Linux shared library (no ELF header)${hint}`);
  }
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : null;
  const le = buf[5] === 1 ? true : buf[5] === 2 ? false : null;
  if (bits === null || le === null) throw new ValidationError('SDK_LIB_NOT_ELF', `${path} has an invalid ELF header`);
  const r = new Reader(buf, le, bits === 64);
  const machine = r.u16(18);
  const [machineName, nodeArch] = MACHINES[machine] ?? [`machine ${machine}`, null];

  const needed: string[] = [];
  const versions = new Set<string>();
  try {
    const shoff = r.word(bits === 64 ? 40 : 32);
    const shentsize = r.u16(bits === 64 ? 58 : 46);
    const shnum = r.u16(bits === 64 ? 60 : 48);
    const section = (i: number) => {
      const at = shoff + i * shentsize;
      return bits === 64
        ? { type: r.u32(at + 4), offset: r.word(at + 24), size: r.word(at + 32), link: r.u32(at + 40), info: r.u32(at + 44) }
        : { type: r.u32(at + 4), offset: r.u32(at + 16), size: r.u32(at + 20), link: r.u32(at + 24), info: r.u32(at + 28) };
    };
    for (let i = 0; i < Math.min(shnum, 4096); i++) {
      const s = section(i);
      if (s.type === SHT_GNU_VERNEED) {
        const strtab = section(s.link).offset;
        let at = s.offset;
        for (let n = 0; n < Math.min(s.info, 1024); n++) {
          const count = r.u16(at + 2);
          let aux = at + r.u32(at + 8);
          for (let k = 0; k < Math.min(count, 1024); k++) {
            versions.add(r.cstring(strtab + r.u32(aux + 8)));
            const nextAux = r.u32(aux + 12);
            if (nextAux === 0) break;
            aux += nextAux;
          }
          const next = r.u32(at + 12);
          if (next === 0) break;
          at += next;
        }
      } else if (s.type === SHT_DYNAMIC) {
        const strtab = section(s.link).offset;
        const entry = bits === 64 ? 16 : 8;
        for (let at = s.offset; at + entry <= s.offset + s.size; at += entry) {
          const tag = r.word(at);
          if (tag === 0) break;
          if (tag === DT_NEEDED) needed.push(r.cstring(strtab + r.word(at + entry / 2)));
        }
      }
    }
  } catch {
    // Damaged or stripped section headers: architecture is still known; the load test says the rest.
  }
  const glibc = [...versions].filter((v) => /^GLIBC_\d+(\.\d+)*$/.test(v)).map((v) => v.slice('GLIBC_'.length));
  const glibcNeeded = glibc.length ? glibc.reduce((a, b) => (versionAtLeast(a, b) ? a : b)) : null;
  return { bits, littleEndian: le, machine, machineName, nodeArch, needed, versionsNeeded: [...versions].sort(), glibcNeeded };
}

/** The glibc version this process runs on, or null when it is not glibc (Alpine's musl). */
export function runtimeGlibcVersion(): string | null {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ?? null;
}
