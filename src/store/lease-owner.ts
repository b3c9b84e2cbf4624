/**
 * Who holds a lease (a corp's pull, a media job, an inbox row, a directory id to describe): `host/pid/random`, at most 61 characters, so it
 * fits the 64-character owner columns whatever the host's name. On the holder's own host a lease
 * whose process is gone can be taken over at once, instead of after it expires.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** this host as lease owners name it (a long host name is cut, the same way for every process) */
const HOST = hostname().slice(0, 40);

/** A new owner name for this process: host, pid and 12 random hex digits. */
export function newLeaseOwner(): string {
  return `${HOST}/${process.pid}/${randomBytes(6).toString('hex')}`;
}

/** The prefix every owner of this host starts with (for queries that look at this host's leases). */
export const HOST_OWNER_PREFIX = `${HOST}/`;

/** Whether a lease owner is a process of this host that no longer exists. */
export function ownerIsDeadHere(owner: string): boolean {
  const [host, pidText] = owner.split('/');
  const pid = Number(pidText);
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
