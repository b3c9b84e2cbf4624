/**
 * A lease owner (`host/pid/random`, src/store/lease-owner.ts) of this host whose process has exited:
 * the holder whose lease every stage takes over at once instead of waiting for it to end.
 */
import { spawnSync } from 'node:child_process';
import { newLeaseOwner } from '../../src/store/lease-owner.ts';

/** An owner name of this host whose process has exited. */
export function deadOwnerHere(): string {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return newLeaseOwner().replace(/\/\d+\//, `/${Number(child.stdout)}/`);
}
