import { migrateStore, openStore } from '../../store/open-store.ts';
import type { Command } from '../command.ts';

export const migrate: Command = {
  name: 'migrate',
  usage: 'migrate',
  summary: 'bring the database schema up to date (every command also does this at start)',
  options: {},
  store: false,
  async run({ config, io }) {
    const store = await openStore(config.dbUrl, { migrate: false });
    try {
      const applied = await migrateStore(store);
      io.out(applied.length ? `applied ${applied.join(', ')} on ${store.dialect.displayUrl}` : `schema of ${store.dialect.displayUrl} is up to date`);
    } finally {
      await store.close();
    }
  },
};
