import type { Command } from '../command.ts';
import { corpAdd, corpImport, corpList, corpRemove } from './corp.ts';
import { keysAdd, keysGenerate, keysList } from './keys.ts';
import { demo } from './demo.ts';
import { exportCommand } from './export.ts';
import { migrate } from './migrate.ts';
import { run } from './run.ts';
import { simulator } from './simulator.ts';
import { status } from './status.ts';

/** Every CLI command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  corpAdd, corpImport, corpList, corpRemove,
  keysGenerate, keysAdd, keysList,
  run, status, exportCommand, demo, simulator,
  migrate,
];
