import { validateAppName } from '../../callbacks/callback-apps.ts';
import { CallbackInbox, type InboxState } from '../../callbacks/callback-inbox.ts';
import { requireArchivedCorpOfNone } from '../../corps/archived-corp.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { readSecretFlags, secretOptions } from '../secret-input.ts';
import { auditCliChange } from './access-flags.ts';

export const corpCallbackAdd: Command = {
  name: 'corp callback',
  usage:
    'corp callback add --corp ID --app NAME (--token-file PATH | --token env:VAR | --token -) (--aes-key-file PATH | --aes-key env:VAR | --aes-key -) [--receive-id ID] [--replace] | corp callback list [--corp ID] [--json] | corp callback remove --corp ID --app NAME',
  summary: "callback configurations: each app's Token and EncodingAESKey (sealed), served at /callback/{corpid}/{app}",
  options: {
    corp: { type: 'string' },
    app: { type: 'string' },
    ...secretOptions('token', 'aes-key'),
    'receive-id': { type: 'string' },
    replace: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const a = needApp(app);
    const action = positionals[0];
    if (action === 'add') {
      const corpid = requireString(values, 'corp', 'the corp ID');
      const name = validateAppName(requireString(values, 'app', "a name for this app's callbacks, e.g. contacts, customer or archive"));
      const secrets = await readSecretFlags(values, ['token', 'aes-key'], io);
      await a.callbackApps.add(
        {
          corpid,
          app: name,
          token: secrets.require('token', 'the Token of the app\'s "API receive" (接收消息) settings'),
          aesKey: secrets.require('aes-key', 'the EncodingAESKey of the app\'s "API receive" settings (43 characters)'),
          ...(optionalString(values, 'receive-id') !== undefined ? { receiveId: optionalString(values, 'receive-id')! } : {}),
        },
        { replace: values.replace === true },
      );
      io.out(`callback app ${name} of ${corpid} ${values.replace ? 'saved' : 'added'}; set the app's callback URL to https://YOUR-HOST/callback/${corpid}/${name}`);
      return;
    }
    if (action === 'list') {
      const corpid = optionalString(values, 'corp');
      const apps = await a.callbackApps.list(corpid);
      await requireArchivedCorpOfNone(a.store.db, corpid, apps.length);
      if (values.json) io.out(JSON.stringify(apps));
      else if (apps.length === 0) io.out('no callback configurations; add one with `corp callback add`');
      else for (const c of apps) io.out(`${c.corpid}  ${c.app}  path /callback/${c.corpid}/${c.app}  receiveid ${c.receiveId === '' ? '(empty)' : c.receiveId}`);
      return;
    }
    if (action === 'remove') {
      const corpid = requireString(values, 'corp', 'the corp ID');
      const name = requireString(values, 'app', 'the app name');
      await a.callbackApps.remove(corpid, name);
      io.out(`callback app ${name} of ${corpid} removed; its stored events are kept`);
      return;
    }
    throw new ValidationError('USAGE', `corp callback needs add, list or remove\nusage: wecom-archive ${corpCallbackAdd.usage}`);
  },
};

export const corpSecrets: Command = {
  name: 'corp secrets',
  usage:
    'corp secrets --corp ID [--contacts-secret-file PATH | --contacts-secret env:VAR | --contacts-secret -] [--customer-secret-file PATH | --customer-secret env:VAR | --customer-secret -] [--api-base URL|default] [--clear-contacts] [--clear-customer]',
  summary: 'the contacts (通讯录同步) and customer contact (客户联系) secrets the directory needs (sealed), and the WeCom API base',
  options: {
    corp: { type: 'string' },
    ...secretOptions('contacts-secret', 'customer-secret'),
    'api-base': { type: 'string' },
    'clear-contacts': { type: 'boolean' },
    'clear-customer': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ app, values, io }) {
    const a = needApp(app);
    const corpid = requireString(values, 'corp', 'the corp ID');
    const apiBase = optionalString(values, 'api-base');
    const secrets = await readSecretFlags(values, ['contacts-secret', 'customer-secret'], io);
    const contactsSecret = secrets.get('contacts-secret');
    const customerSecret = secrets.get('customer-secret');
    const change = {
      ...(values['clear-contacts'] ? { contactsSecret: null } : contactsSecret !== undefined ? { contactsSecret } : {}),
      ...(values['clear-customer'] ? { customerSecret: null } : customerSecret !== undefined ? { customerSecret } : {}),
      ...(apiBase === undefined ? {} : { apiBase: apiBase === 'default' ? null : apiBase }),
    };
    if (Object.keys(change).length > 0) await a.apiSettings.set(corpid, change);
    const s = await a.apiSettings.summary(corpid);
    if (values.json) {
      io.out(JSON.stringify(s));
      return;
    }
    io.out(
      `${corpid}: API base ${s.apiBase}${s.apiBaseIsDefault ? ' (default)' : ''}; contacts secret ${s.hasContactsSecret ? 'set' : 'not set (members, departments and tags are not synced)'}; customer contact secret ${s.hasCustomerSecret ? 'set' : 'not set (external contacts and customer groups are not synced)'}`,
    );
  },
};

const STATES: readonly InboxState[] = ['pending', 'working', 'done', 'failed', 'ignored'];

export const callbackEvents: Command = {
  name: 'callback events',
  usage: 'callback events [--corp ID] [--state pending|failed|done|ignored] [--limit N] [--json]',
  summary: 'stored callback events, newest first (failed ones say why)',
  options: { corp: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const state = optionalString(values, 'state');
    if (state !== undefined && !STATES.includes(state as InboxState)) throw new ValidationError('OPTION_INVALID', `--state must be one of ${STATES.join(', ')}`);
    const limitText = optionalString(values, 'limit') ?? '50';
    if (!/^\d{1,5}$/.test(limitText)) throw new ValidationError('OPTION_INVALID', '--limit must be a number');
    const { db } = needApp(app).store;
    const corpid = optionalString(values, 'corp');
    const rows = await new CallbackInbox(db).list({ ...(corpid ? { corpid } : {}), ...(state ? { state: state as InboxState } : {}), limit: Number(limitText) });
    await requireArchivedCorpOfNone(db, corpid, rows.length);
    if (values.json) {
      io.out(JSON.stringify(rows));
      return;
    }
    if (rows.length === 0) io.out('no stored callback events');
    for (const r of rows) {
      io.out(
        `#${r.id}  ${new Date(r.receivedAt).toISOString()}  ${r.corpid}/${r.app}  ${r.event ?? r.kind}${r.changeType ? `/${r.changeType}` : ''}  ${r.state}${r.attempts ? ` after ${r.attempts} tries` : ''}${r.error ? `: ${r.error.slice(0, 200)}` : ''}`,
      );
    }
  },
};

export const callbackReplay: Command = {
  name: 'callback replay',
  usage: 'callback replay (--id N | --corp ID | --all-failed)',
  summary: 'hand failed callback events to the handlers again (a running `serve`/`run` picks them up)',
  options: { id: { type: 'string' }, corp: { type: 'string' }, 'all-failed': { type: 'boolean' } },
  async run({ app, values, io }) {
    const idText = optionalString(values, 'id');
    const corpid = optionalString(values, 'corp');
    if (idText === undefined && corpid === undefined && !values['all-failed'])
      throw new ValidationError('OPTION_MISSING', 'say which events: --id N, --corp ID (all its failed events) or --all-failed');
    if (idText !== undefined && !/^\d{1,15}$/.test(idText)) throw new ValidationError('OPTION_INVALID', '--id must be an event number (see `callback events --state failed`)');
    const a = needApp(app);
    const inbox = new CallbackInbox(a.store.db);
    const which = { ...(idText !== undefined ? { id: Number(idText) } : {}), ...(corpid !== undefined ? { corpid } : {}) };
    const n = await inbox.replay(which);
    await requireArchivedCorpOfNone(a.store.db, corpid, n);
    await auditCliChange(a, io.env, { action: 'callbacks.replay', corpid, query: idText !== undefined ? { id: Number(idText) } : { all: true }, items: n });
    io.out(n === 0 ? 'no failed events matched' : `${n} event(s) queued again`);
  },
};

export const corpLoginApp: Command = {
  name: 'corp login-app',
  usage:
    'corp login-app set --corp ID --agentid N (--secret-file PATH | --secret env:VAR | --secret -) --public-url URL [--name NAME] [--authorize-base URL|default] | corp login-app list [--json] | corp login-app remove --corp ID',
  summary: "sign in with WeCom: the app (agentid and Secret, sealed) whose OAuth2 names the member, and the archive's public URL for redirect_uri",
  options: {
    corp: { type: 'string' },
    agentid: { type: 'string' },
    ...secretOptions('secret'),
    'public-url': { type: 'string' },
    name: { type: 'string' },
    'authorize-base': { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const a = needApp(app);
    const action = positionals[0];
    const audit = (action: string, corpid: string, query: Record<string, string>) => auditCliChange(a, io.env, { action, corpid, query });
    if (action === 'set') {
      const corpid = requireString(values, 'corp', 'the corp ID');
      const agentid = requireString(values, 'agentid', 'the AgentId of the self-built app (自建应用) members sign in with, e.g. 1000002');
      const publicUrl = requireString(
        values,
        'public-url',
        "the archive's address as browsers reach it, e.g. https://archive.example.com (its host must be the app's trusted domain, 可信域名)",
      );
      const secrets = await readSecretFlags(values, ['secret'], io);
      const authorizeBase = optionalString(values, 'authorize-base');
      await a.loginApps.set({
        corpid,
        agentid,
        secret: secrets.require('secret', "the app's Secret from the WeCom admin console"),
        publicUrl,
        name: optionalString(values, 'name'),
        authorizeBase: authorizeBase === undefined || authorizeBase === 'default' ? null : authorizeBase,
      });
      // who may sign in changed: the audit log says so (never the Secret)
      await audit('login_app.set', corpid, { agentid, publicUrl });
      const set = (await a.loginApps.list()).find((l) => l.corpid === corpid)!;
      io.out(
        `sign in with WeCom for ${corpid}: app ${set.agentid} ("${set.name}"); in the WeCom admin console set the app's trusted domain (可信域名) to ${new URL(set.publicUrl).host}; redirect_uri is ${set.publicUrl}/api/session/wecom/callback`,
      );
      return;
    }
    if (action === 'list') {
      const apps = await a.loginApps.list();
      if (values.json) io.out(JSON.stringify(apps));
      else if (apps.length === 0) io.out('no corp offers sign in with WeCom; set one up with `corp login-app set`');
      else
        for (const l of apps)
          io.out(`${l.corpid}  agentid ${l.agentid}  "${l.name}"  public URL ${l.publicUrl}  authorize ${l.authorizeIsDefault ? '(default) ' : ''}${l.authorize.oauth}`);
      return;
    }
    if (action === 'remove') {
      const corpid = requireString(values, 'corp', 'the corp ID');
      await a.loginApps.remove(corpid);
      await audit('login_app.remove', corpid, {});
      io.out(`sign in with WeCom for ${corpid} removed; accounts bound to its members sign in with a password only`);
      return;
    }
    throw new ValidationError('USAGE', `corp login-app needs set, list or remove\nusage: wecom-archive ${corpLoginApp.usage}`);
  },
};
