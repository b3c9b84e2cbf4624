import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { cliActor, parseExpiry } from './access-flags.ts';

export const tokensCreate: Command = {
  name: 'tokens create',
  usage: 'tokens create --user U --name N [--expires 90d|2027-01-31]',
  summary: 'make an API token for scripts (Authorization: Bearer); it is printed once and stored hashed',
  options: { user: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' } },
  async run({ app, values, io }) {
    const username = requireString(values, 'user', 'the account the token acts as');
    const name = requireString(values, 'name', 'what the token is for, e.g. "nightly export"');
    const expiresAt = parseExpiry(optionalString(values, 'expires'), Date.now());
    const { id, token } = await needApp(app).access.admin.createToken(cliActor(io.env), username, name, expiresAt);
    // the token alone on standard output, so `$(wecom-archive tokens create …)` captures just it
    io.out(token);
    io.err(`token ${id} for ${username}${expiresAt === undefined ? '' : `, valid until ${new Date(expiresAt).toISOString()}`}: shown this once, store it now`);
  },
};

export const tokensList: Command = {
  name: 'tokens list',
  usage: 'tokens list [--json]',
  summary: 'list API tokens (never the tokens themselves)',
  options: { json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const tokens = await needApp(app).access.admin.listTokens();
    if (values.json) {
      io.out(JSON.stringify(tokens));
      return;
    }
    if (tokens.length === 0) {
      io.out('no API tokens; make one with `wecom-archive tokens create`');
      return;
    }
    const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));
    const now = Date.now();
    for (const t of tokens) {
      const state = t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'active';
      io.out(`${t.id}  ${t.username}  ${JSON.stringify(t.name)}  ${state}  created ${iso(t.createdAt)}  expires ${iso(t.expiresAt)}  last used ${iso(t.lastUsed)}`);
    }
  },
};

export const tokensRevoke: Command = {
  name: 'tokens revoke',
  usage: 'tokens revoke ID',
  summary: 'end an API token at once (its id from `tokens list`)',
  options: {},
  allowPositionals: true,
  async run({ app, positionals, io }) {
    const text = positionals.length === 1 ? positionals[0]! : '';
    if (!/^\d{1,15}$/.test(text)) throw new ValidationError('USAGE', `give the id of one token, as \`tokens list\` shows it\nusage: wecom-archive ${this.usage}`);
    await needApp(app).access.admin.revokeToken(cliActor(io.env), Number(text));
    io.out(`token ${text} revoked`);
  },
};
