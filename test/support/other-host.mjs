/**
 * Preloaded into a child archive process (`NODE_OPTIONS=--import …/other-host.mjs`) to make it name
 * itself after TEST_HOSTNAME in its lease owners (`host/pid/random`, src/store/lease-owner.ts), as a
 * process on another machine would. A lease whose holder is on another host cannot be taken over
 * when its process dies (its pid means nothing here): it is taken only once it has lapsed. So
 * processes on one machine can show what processes on several machines do.
 */
import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';

const name = process.env.TEST_HOSTNAME;
if (name) {
  os.hostname = () => name;
  // named imports (`import { hostname } from 'node:os'`) see the change too
  syncBuiltinESMExports();
}
