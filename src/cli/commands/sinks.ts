import { requireArchivedCorpOfNone } from '../../corps/archived-corp.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { readSecretFlags, secretOptions } from '../secret-input.ts';

const USAGE =
  'sinks add --type webhook|nats --url URL --corp ID [--stream NAME] [--include-content] [--secret-file PATH | --secret env:VAR | --secret -] | sinks list [--corp ID] [--json] | sinks remove --id N | sinks replay --id N';

function sinkId(text: string | undefined): number {
  if (text === undefined) throw new ValidationError('OPTION_MISSING', '--id is required: the sink number (see `sinks list`)');
  if (!/^\d{1,15}$/.test(text)) throw new ValidationError('OPTION_INVALID', '--id must be a sink number (see `sinks list`)');
  return Number(text);
}

export const sinks: Command = {
  name: 'sinks',
  usage: USAGE,
  summary: "where each corp's events go (webhooks, NATS JetStream): add, list with backlog and failures, remove, replay dead letters",
  options: {
    type: { type: 'string' },
    url: { type: 'string' },
    corp: { type: 'string' },
    stream: { type: 'string' },
    'include-content': { type: 'boolean' },
    ...secretOptions('secret'),
    id: { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const a = needApp(app);
    const action = positionals[0];
    if (action === 'add') {
      const type = requireString(values, 'type', 'webhook or nats');
      const url = requireString(values, 'url', 'where events go: http(s)://… for a webhook, nats://HOST:PORT for NATS');
      const corpid = requireString(values, 'corp', 'the corp whose events go there');
      const secret = (await readSecretFlags(values, ['secret'], io)).get('secret');
      const added = await a.sinks.add({ corpid, type, url, stream: optionalString(values, 'stream'), includeContent: values['include-content'] === true, secret });
      io.out(`sink ${added.id} added: ${corpid}'s events from now on go to this ${type}${values['include-content'] ? ', with message content' : ' (ids and metadata only)'}`);
      // shown once: it is stored sealed and never printed again
      if (added.generatedSecret) io.out(`webhook secret (shown once; verify the x-wecom-archive-signature header with it): ${added.generatedSecret}`);
      return;
    }
    if (action === 'list') {
      const corpid = optionalString(values, 'corp');
      const list = await a.sinks.list(corpid);
      await requireArchivedCorpOfNone(a.store.db, corpid, list.length);
      if (values.json) {
        io.out(JSON.stringify(list));
        return;
      }
      if (list.length === 0) io.out('no sinks; add one with `sinks add`');
      for (const s of list) {
        const failing = s.failures > 0 ? `, failing (${s.failures} tries${s.lastError ? `: ${s.lastError.slice(0, 200)}` : ''})` : '';
        io.out(
          `#${s.id}  ${s.corpid}  ${s.type}  ${s.url}${s.stream ? `  stream ${s.stream}` : ''}${s.includeContent ? '  with content' : ''}  backlog ${s.backlog}  dead letters ${s.deadLetters}${failing}`,
        );
      }
      return;
    }
    if (action === 'remove') {
      const id = sinkId(optionalString(values, 'id'));
      await a.sinks.remove(id);
      io.out(`sink ${id} removed, with its position and dead letters`);
      return;
    }
    if (action === 'replay') {
      const id = sinkId(optionalString(values, 'id'));
      const n = await a.sinks.replay(id);
      io.out(n === 0 ? `sink ${id} has no dead letters` : `${n} dead letter(s) of sink ${id} queued again (a running \`run\` sends them)`);
      return;
    }
    throw new ValidationError('USAGE', `sinks needs add, list, remove or replay\nusage: wecom-archive ${USAGE}`);
  },
};
