import { runSimulatorCommand, SIMULATOR_USAGE } from '../../simulator/control/cli.ts';
import type { Command } from '../command.ts';

export const simulator: Command = {
  name: 'simulator',
  usage: SIMULATOR_USAGE,
  summary: 'run the built-in WeCom simulator (SDK operations over HTTP) until stopped',
  options: {},
  store: false,
  ownArgs: true,
  async run({ positionals, io }) {
    await runSimulatorCommand(positionals, { out: io.out, signal: io.signal });
  },
};
