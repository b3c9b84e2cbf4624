import type { Command } from '../command.ts';
import { corpAdd, corpImport, corpList, corpRemove } from './corp.ts';
import { keysAdd, keysGenerate, keysList } from './keys.ts';
import { migrate } from './migrate.ts';

/** Every CLI command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  corpAdd, corpImport, corpList, corpRemove,
  keysGenerate, keysAdd, keysList,
  migrate,
];
