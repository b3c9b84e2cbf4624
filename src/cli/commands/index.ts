import type { Command } from '../command.ts';
import { corpAdd, corpImport, corpList, corpRemove } from './corp.ts';
import { callbackEvents, callbackReplay, corpCallbackAdd, corpLoginApp, corpSecrets } from './corp-callback.ts';
import { decryptRetry } from './decrypt.ts';
import { directorySync } from './directory.ts';
import { serve } from './serve.ts';
import { keysAdd, keysGenerate, keysList, keysReplace } from './keys.ts';
import { demo } from './demo.ts';
import { doctor } from './doctor.ts';
import { exportCommand } from './export.ts';
import { mediaRetry, mediaScan } from './media.ts';
import { migrate } from './migrate.ts';
import { run } from './run.ts';
import { reindex } from './reindex.ts';
import { search } from './search.ts';
import { simulator } from './simulator.ts';
import { sinks } from './sinks.ts';
import { status } from './status.ts';
import { auditExport, auditVerify } from './audit.ts';
import { settingsList, settingsSet } from './settings.ts';
import { tokensCreate, tokensList, tokensRevoke } from './tokens.ts';
import { usersAdd, usersDisable, usersEnable, usersGrant, usersList, usersPasswd, usersRevoke } from './users.ts';

/** Every CLI command, in the order `help` lists them. */
export const COMMANDS: readonly Command[] = [
  corpAdd,
  corpImport,
  corpList,
  corpRemove,
  corpSecrets,
  corpCallbackAdd,
  corpLoginApp,
  keysGenerate,
  keysAdd,
  keysReplace,
  keysList,
  run,
  status,
  decryptRetry,
  mediaRetry,
  mediaScan,
  doctor,
  exportCommand,
  search,
  reindex,
  demo,
  simulator,
  serve,
  callbackEvents,
  callbackReplay,
  directorySync,
  usersAdd,
  usersList,
  usersDisable,
  usersEnable,
  usersPasswd,
  usersGrant,
  usersRevoke,
  tokensCreate,
  tokensList,
  tokensRevoke,
  auditVerify,
  auditExport,
  settingsSet,
  settingsList,
  sinks,
  migrate,
];
