import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a running process in kB (0 once it has exited), from /proc. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/**
 * CPU seconds (user + system, all threads) a running process has used so far; null once it has
 * exited. With `statPath`, of one thread (/proc/PID/task/TID/stat).
 */
export function cpuSeconds(pid: number, statPath = `/proc/${pid}/stat`): number | null {
  try {
    const stat = readFileSync(statPath, 'utf8');
    // fields after the parenthesised command name: state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Idle CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineIdleSeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  return (Number(cpu[4]) + Number(cpu[5])) / TICKS_PER_S; // idle + iowait
}

/** CPU seconds of each thread of a running process, by thread id; empty once it has exited. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const cpu = cpuSeconds(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (cpu !== null) threads.set(Number(tid), cpu);
  }
  return threads;
}

/**
 * Bytes a running process has handed to write system calls so far (files and sockets, whether or
 * not they reached a disk: `wchar` of /proc/PID/io); null once it has exited.
 */
export function writtenBytes(pid: number): number | null {
  try {
    const m = /^wchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
