import { validateGrant, validateRole, validateUsername } from '../../access/account-admin.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, requireString } from '../command.ts';
import { readNewPassword } from '../password-input.ts';
import { cliActor, GRANT_OPTIONS, GRANT_USAGE, grantsFromFlags, oneName } from './access-flags.ts';

export const usersAdd: Command = {
  name: 'users add',
  usage: `users add --username U --role admin|auditor|viewer ${GRANT_USAGE} [--wecom-userid CORPID:USERID] [--password-stdin]`,
  summary: 'add an account (without --password-stdin, asks for the password at the terminal)',
  options: { username: { type: 'string' }, role: { type: 'string' }, 'wecom-userid': { type: 'string' }, 'password-stdin': { type: 'boolean' }, ...GRANT_OPTIONS },
  async run({ app, values, io }) {
    const username = requireString(values, 'username', 'the name the account signs in with');
    const role = requireString(values, 'role', 'admin, auditor or viewer');
    const grants = grantsFromFlags(values);
    const binding = typeof values['wecom-userid'] === 'string' ? parseBinding(values['wecom-userid']) : undefined;
    const a = needApp(app);
    // checked before the password is asked for, so a typo does not cost a prompt
    validateUsername(username);
    grants.forEach(validateGrant);
    const password = await readNewPassword(io, values['password-stdin'] === true, username);
    await a.access.admin.addUser(cliActor(io.env), { username, role: validateRole(role), password, grants, wecom: binding });
    io.out(
      `user ${username} added (${role}${grants.length ? `; ${grants.length} grant${grants.length > 1 ? 's' : ''}` : ''}${binding ? `; signs in with WeCom as ${binding.corpid}:${binding.userid}` : ''})`,
    );
  },
};

/** `--wecom-userid CORPID:USERID`: the WeCom account (of that corp) that signs in as this account. */
function parseBinding(text: string): { corpid: string; userid: string } {
  const at = text.indexOf(':');
  if (at <= 0 || at === text.length - 1)
    throw new ValidationError('WECOM_BINDING_INVALID', `--wecom-userid takes CORPID:USERID, e.g. ww1234567890abcdef:zhangsan, got ${JSON.stringify(text.slice(0, 80))}`);
  return { corpid: text.slice(0, at), userid: text.slice(at + 1) };
}

export const usersList: Command = {
  name: 'users list',
  usage: 'users list [--json]',
  summary: 'list accounts with their roles and grants (never their passwords)',
  options: { json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const users = await needApp(app).access.admin.listUsers();
    if (values.json) {
      io.out(JSON.stringify(users));
      return;
    }
    if (users.length === 0) {
      io.out('no accounts; add one with `wecom-archive users add`');
      return;
    }
    const now = Date.now();
    const rows = users.map((u) => [
      u.username,
      u.role,
      u.disabled ? 'disabled' : u.lockedUntil !== null && u.lockedUntil > now ? 'locked' : 'active',
      u.role === 'admin' ? 'everything' : u.grants.join(' ') || '-',
      u.wecom ?? '-',
    ]);
    const table = [['USERNAME', 'ROLE', 'STATE', 'GRANTS', 'WECOM'], ...rows];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const r of table) io.out(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
  },
};

export const usersDisable: Command = {
  name: 'users disable',
  usage: 'users disable USERNAME',
  summary: 'stop an account: its sessions end and its API tokens stop working at once',
  options: {},
  allowPositionals: true,
  async run({ app, positionals, io }) {
    const username = oneName(positionals, this.usage);
    const ended = await needApp(app).access.admin.setDisabled(cliActor(io.env), username, true);
    io.out(`user ${username} disabled; ${ended} session${ended === 1 ? '' : 's'} ended; its API tokens work again only if it is enabled`);
  },
};

export const usersEnable: Command = {
  name: 'users enable',
  usage: 'users enable USERNAME',
  summary: 'let a disabled account sign in again',
  options: {},
  allowPositionals: true,
  async run({ app, positionals, io }) {
    const username = oneName(positionals, this.usage);
    await needApp(app).access.admin.setDisabled(cliActor(io.env), username, false);
    io.out(`user ${username} enabled`);
  },
};

export const usersPasswd: Command = {
  name: 'users passwd',
  usage: 'users passwd USERNAME [--password-stdin]',
  summary: "set an account's password; its sessions end (its API tokens stay)",
  options: { 'password-stdin': { type: 'boolean' } },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const username = oneName(positionals, this.usage);
    const a = needApp(app);
    const password = await readNewPassword(io, values['password-stdin'] === true, username);
    const ended = await a.access.admin.setPassword(cliActor(io.env), username, password);
    io.out(`password of ${username} changed; ${ended} session${ended === 1 ? '' : 's'} ended`);
  },
};

export const usersGrant: Command = {
  name: 'users grant',
  usage: `users grant USERNAME ${GRANT_USAGE}`,
  summary: 'let an account read more (grants it holds already are kept)',
  options: { ...GRANT_OPTIONS },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const username = oneName(positionals, this.usage);
    const added = await needApp(app).access.admin.grant(cliActor(io.env), username, grantsFromFlags(values));
    io.out(`${added} grant${added === 1 ? '' : 's'} added to ${username}`);
  },
};

export const usersRevoke: Command = {
  name: 'users revoke',
  usage: `users revoke USERNAME ${GRANT_USAGE}`,
  summary: 'take grants back from an account (exactly those named)',
  options: { ...GRANT_OPTIONS },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const username = oneName(positionals, this.usage);
    const removed = await needApp(app).access.admin.revoke(cliActor(io.env), username, grantsFromFlags(values));
    io.out(`${removed} grant${removed === 1 ? '' : 's'} revoked from ${username}`);
  },
};
