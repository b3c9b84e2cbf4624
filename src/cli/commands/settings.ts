import { ACCESS_SETTINGS } from '../../access/access-settings.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp } from '../command.ts';
import { cliActor } from './access-flags.ts';

export const settingsSet: Command = {
  name: 'settings set',
  usage: `settings set NAME VALUE   (${Object.keys(ACCESS_SETTINGS).join(', ')})`,
  summary: 'change an access setting: require_reason on|off, session_idle 30m, session_absolute 12h, lockout 15m',
  options: {},
  allowPositionals: true,
  async run({ app, positionals, io }) {
    if (positionals.length !== 2) throw new ValidationError('USAGE', `give a setting and its value\nusage: wecom-archive ${this.usage}`);
    const [name, value] = positionals as [string, string];
    const stored = await needApp(app).access.admin.setSetting(cliActor(io.env), name, value);
    io.out(`${name} = ${stored}${name.startsWith('session_') ? ' (for sessions opened from now on)' : ''}`);
  },
};

export const settingsList: Command = {
  name: 'settings list',
  usage: 'settings list [--json]',
  summary: 'show the access settings in force',
  options: { json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const settings = await needApp(app).access.admin.settings();
    if (values.json) io.out(JSON.stringify(Object.fromEntries(settings.map((s) => [s.name, s.value]))));
    else for (const s of settings) io.out(`${s.name} = ${s.value}`);
  },
};
