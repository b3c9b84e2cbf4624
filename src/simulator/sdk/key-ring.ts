/**
 * The corp's RSA key versions and which one encrypts which message. WeCom bumps `publickey_ver`
 * each time the admin sets a new public key; messages from then on use the new one, older ones
 * keep theirs. The schedule "1:0,2:500" means version 1 from message index 0,
 * version 2 from index 500.
 *
 * Versions without a supplied key get a fresh RSA-2048 pair, whose private key the simulator can
 * hand to the archive. A supplied public key means the private key is not ours to know.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ValidationError } from '../../errors/errors.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyScheduleEntry {
  readonly version: number;
  readonly fromIndex: number;
}

export interface KeyVersion {
  readonly version: number;
  readonly publicKey: KeyObject;
  readonly modulusBytes: number;
  /** only when the simulator generated the pair or was given the private key */
  readonly privateKey: KeyObject | undefined;
  readonly privateKeyPem: string | undefined;
}

/** Parses "1:0,2:500". Versions and start indexes must both increase; the first starts at 0. */
export function parseKeySchedule(text: string): KeyScheduleEntry[] {
  const bad = (why: string) => new ValidationError('KEY_SCHEDULE_INVALID', `key schedule ${JSON.stringify(text)}: ${why}; expected VERSION:FROM_INDEX pairs like "1:0,2:500"`);
  const entries = text.split(',').map((part) => {
    const m = /^\s*(\d{1,9}):(\d{1,15})\s*$/.exec(part);
    if (!m) throw bad(`${JSON.stringify(part)} is not VERSION:FROM_INDEX`);
    return { version: Number(m[1]), fromIndex: Number(m[2]) };
  });
  validateSchedule(entries, bad);
  return entries;
}

function validateSchedule(entries: readonly KeyScheduleEntry[], bad: (why: string) => Error): void {
  if (entries.length === 0) throw bad('it is empty');
  if (entries[0]?.fromIndex !== 0) throw bad('the first version must start at index 0, or the first messages would have no key');
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as KeyScheduleEntry;
    if (!Number.isSafeInteger(e.version) || e.version < 1) throw bad(`version ${e.version} must be a positive integer`);
    const prev = entries[k - 1];
    if (prev && e.version <= prev.version) throw bad('versions must increase');
    if (prev && e.fromIndex <= prev.fromIndex) throw bad('start indexes must increase');
  }
}

/** Reads a PEM (public or private RSA key) given for one version. */
export function keyFromPem(pem: string | KeyObject, version: number): { publicKey: KeyObject; privateKey: KeyObject | undefined } {
  const fail = (cause: unknown) => new ValidationError('KEY_INVALID', `the key given for version ${version} is not a readable RSA PEM key`, { cause });
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject;
  try {
    if (typeof pem !== 'string') {
      privateKey = pem.type === 'private' ? pem : undefined;
      publicKey = pem.type === 'private' ? createPublicKey(pem) : pem;
    } else if (/PRIVATE KEY-----/.test(pem)) {
      privateKey = createPrivateKey(pem);
      publicKey = createPublicKey(privateKey);
    } else {
      publicKey = createPublicKey(pem);
    }
  } catch (err) {
    throw fail(err);
  }
  if (publicKey.asymmetricKeyType !== 'rsa') throw fail(new Error(`not RSA but ${publicKey.asymmetricKeyType}`));
  return { publicKey, privateKey };
}

export class KeyRing {
  private readonly versions = new Map<number, KeyVersion>();
  private readonly schedule: KeyScheduleEntry[] = [];

  /** Builds every version of `schedule`, generating pairs for versions without a supplied key. */
  static async create(schedule: readonly KeyScheduleEntry[], supplied: ReadonlyMap<number, string | KeyObject>): Promise<KeyRing> {
    validateSchedule(schedule, (why) => new ValidationError('KEY_SCHEDULE_INVALID', `key schedule: ${why}`));
    const ring = new KeyRing();
    const built = await Promise.all(schedule.map((e) => buildVersion(e.version, supplied.get(e.version))));
    for (const v of built) ring.versions.set(v.version, v);
    ring.schedule.push(...schedule);
    return ring;
  }

  /** The key that encrypts message `index`. */
  versionFor(index: number): KeyVersion {
    let entry = this.schedule[0] as KeyScheduleEntry;
    // schedules are short (a handful of rotations), a linear scan from the end is fastest
    for (let k = this.schedule.length - 1; k >= 0; k--) {
      const e = this.schedule[k] as KeyScheduleEntry;
      if (e.fromIndex <= index) {
        entry = e;
        break;
      }
    }
    return this.versions.get(entry.version) as KeyVersion;
  }

  /** A new version used from `fromIndex` on, as when the admin uploads a new public key. */
  async rotate(fromIndex: number, version?: number, key?: string | KeyObject): Promise<KeyVersion> {
    const last = this.schedule[this.schedule.length - 1] as KeyScheduleEntry;
    const next = version ?? last.version + 1;
    if (!Number.isSafeInteger(next) || next <= last.version) throw new ValidationError('KEY_VERSION_INVALID', `a new key version must be above ${last.version}, got ${next}`);
    if (fromIndex < last.fromIndex) throw new ValidationError('KEY_VERSION_INVALID', `version ${next} cannot start before message ${last.fromIndex}`);
    const built = await buildVersion(next, key);
    this.versions.set(next, built);
    // a rotation before any message arrived under the previous version replaces it in the schedule
    if (fromIndex === last.fromIndex) this.schedule[this.schedule.length - 1] = { version: next, fromIndex };
    else this.schedule.push({ version: next, fromIndex });
    return built;
  }

  entries(): readonly KeyScheduleEntry[] {
    return this.schedule;
  }

  all(): KeyVersion[] {
    return [...this.versions.values()].sort((a, b) => a.version - b.version);
  }
}

async function buildVersion(version: number, key: string | KeyObject | undefined): Promise<KeyVersion> {
  if (key !== undefined) {
    const { publicKey, privateKey } = keyFromPem(key, version);
    return {
      version,
      publicKey,
      modulusBytes: modulusBytes(publicKey),
      privateKey,
      privateKeyPem: privateKey?.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }
  // The pair comes back as PEM and the key objects are made from it, so that none of them shares
  // the generation job's lock. On Node 20 a CI worker hung for good: reading a generated key's
  // details (asymmetricKeyDetails) under that lock, its main thread started a collection, which
  // freed the job, whose destructor (~KeyGenJob) waited on the same lock.
  const pair = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { version, publicKey: createPublicKey(pair.publicKey), modulusBytes: 256, privateKey: createPrivateKey(pair.privateKey), privateKeyPem: pair.privateKey };
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 512) throw new ValidationError('KEY_INVALID', `RSA key of ${bits} bits is too small to carry a 32-byte random key`);
  return Math.ceil(bits / 8);
}
