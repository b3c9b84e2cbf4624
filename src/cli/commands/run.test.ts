import { expect, it } from 'vitest';
import type { CommandIo } from '../command.ts';
import { progressPrinter, pullLeaseOption } from './run.ts';

it("prints a corp's own cursor while it pulls, and who holds the pull instead while another process does", () => {
  const lines: string[] = [];
  const io = { err: (line: string) => lines.push(line) } as unknown as CommandIo;
  const print = progressPrinter(io);
  const base = { corpid: 'ww1', envelopes: 0, messages: 0, failures: 0, state: 'ok' as const, lastError: null };
  print([{ ...base, cursor: 0n, pullHeldBy: 'vm/15004/0123456789ab' }]);
  print([{ ...base, cursor: 1200n, envelopes: 50, messages: 50 }]);
  expect(lines[0]).toMatch(/^ww1: pull held by vm\/15004\/0123456789ab  envelopes \+0 /);
  expect(lines[0]).not.toContain('cursor');
  expect(lines[1]).toMatch(/^ww1: cursor 1200  envelopes \+50  messages \+50 /);
  expect(lines[1]).not.toContain('held');
});

it('--pull-lease takes 1–3600 seconds, no shorter than the poll interval', () => {
  expect(pullLeaseOption(undefined, 10_000)).toBeUndefined();
  expect(pullLeaseOption('3', 500)).toBe(3000);
  expect(pullLeaseOption('2.5', 1000)).toBe(2500);
  for (const bad of ['', ' ', '0.5', '0', '-3', '3601', 'x', '1e9']) expect(() => pullLeaseOption(bad, 100), bad).toThrow(/--pull-lease must be 1–3600 seconds/);
  expect(() => pullLeaseOption('5', 10_000)).toThrow('--pull-lease (5 s) must be at least the poll interval (10 s)');
});
