import { readFileSync } from 'node:fs';
import { parseChatLimit, parseProxy, parseProxyAuth, parseSdkSpec, parseTimeout, validateCorpId } from '../../corps/corp-settings.ts';
import { ValidationError } from '../../errors/errors.ts';
import { registerCorps } from '../../corps/corp-registration.ts';
import { readSimulatorConfig } from '../../corps/corp-import-file.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { readSecretFlags, secretOptions } from '../secret-input.ts';

export const corpAdd: Command = {
  name: 'corp add',
  usage:
    'corp add --corpid ID (--secret-file PATH | --secret env:VAR | --secret -) --sdk simulator:URL|native:PATH|native [--proxy URL] [--proxy-auth-file PATH | --proxy-auth env:VAR | --proxy-auth -] [--limit N] [--timeout S] [--replace]',
  summary: 'register a corp to archive (its secret is sealed at rest)',
  options: {
    corpid: { type: 'string' },
    sdk: { type: 'string' },
    proxy: { type: 'string' },
    limit: { type: 'string' },
    timeout: { type: 'string' },
    replace: { type: 'boolean' },
    ...secretOptions('secret', 'proxy-auth'),
  },
  async run({ app, values, io }) {
    const corpid = validateCorpId(requireString(values, 'corpid', 'the corp ID (企业ID) from the WeCom admin console'));
    const secrets = await readSecretFlags(values, ['secret', 'proxy-auth'], io);
    const secret = secrets.require('secret', 'the 会话内容存档 (chat archive) Secret');
    // `--sdk native` (or no --sdk) takes the library path from WECOM_SDK_LIB.
    const sdkText = optionalString(values, 'sdk');
    const lib = io.env.WECOM_SDK_LIB;
    const sdk = parseSdkSpec(
      (sdkText === undefined || sdkText === 'native') && lib
        ? `native:${lib}`
        : requireString(values, 'sdk', 'simulator:URL, or native:PATH of libWeWorkFinanceSdk_C.so (or set WECOM_SDK_LIB)'),
      io.cwd,
    );
    await needApp(app).corps.add(
      {
        corpid,
        secret,
        sdk,
        proxy: parseProxy(optionalString(values, 'proxy')),
        proxyAuth: parseProxyAuth(secrets.get('proxy-auth')),
        limit: parseChatLimit(optionalString(values, 'limit')),
        timeoutS: parseTimeout(optionalString(values, 'timeout')),
      },
      { replace: values.replace === true },
    );
    io.out(`corp ${corpid} ${values.replace ? 'saved' : 'added'} (sdk ${sdk.kind}); next: \`wecom-archive keys generate --corp ${corpid}\` or \`keys add\``);
  },
};

export const corpList: Command = {
  name: 'corp list',
  usage: 'corp list [--json]',
  summary: 'list configured corps (never their secrets)',
  options: { json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const corps = await needApp(app).corps.list();
    if (values.json) {
      io.out(JSON.stringify(corps));
      return;
    }
    if (corps.length === 0) {
      io.out('no corps configured; add one with `wecom-archive corp add`');
      return;
    }
    for (const c of corps) {
      const keys = c.keyVersions.length ? c.keyVersions.join(',') : 'none';
      io.out(`${c.corpid}  sdk=${c.sdk}  limit=${c.limit}  timeout=${c.timeoutS}s  proxy=${c.proxy ?? '-'}${c.hasProxyAuth ? ' (auth)' : ''}  key versions=${keys}`);
    }
  },
};

export const corpRemove: Command = {
  name: 'corp remove',
  usage: 'corp remove --corpid ID',
  summary: 'stop archiving a corp (archived messages and keys are kept)',
  options: { corpid: { type: 'string' }, corp: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = optionalString(values, 'corpid') ?? requireString(values, 'corp', 'the corp ID to remove');
    await needApp(app).corps.remove(corpid);
    io.out(`corp ${corpid} removed; its archived messages and keys are kept`);
  },
};

export const corpImport: Command = {
  name: 'corp import',
  usage: 'corp import FILE [--replace]',
  summary: 'add the corps, keys, directory secrets and callback apps of a simulator config written by `simulator --write-config`',
  options: { replace: { type: 'boolean' } },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const file = positionals[0];
    if (!file) throw new ValidationError('OPTION_MISSING', 'corp import needs the FILE written by `wecom-archive simulator --write-config FILE`');
    const a = needApp(app);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ValidationError('CONFIG_FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const config = readSimulatorConfig(text, io.cwd);
    await registerCorps(a, config, { replace: values.replace === true, refusal: 'nothing of the file was imported' });
    for (const corp of config) {
      const corpid = corp.corp.corpid;
      const extras = [
        ...(corp.apiSecrets.contactsSecret ? ['the contacts secret'] : []),
        ...(corp.apiSecrets.customerSecret ? ['the customer contact secret'] : []),
        ...(corp.callbacks.length ? [`callback apps ${corp.callbacks.map((c) => c.app).join(',')}`] : []),
      ];
      io.out(`corp ${corpid} imported with key versions ${corp.keys.map((k) => k.version).join(',') || 'none'}${extras.length ? `, ${extras.join(', ')}` : ''}`);
    }
  },
};
