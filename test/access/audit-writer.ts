/**
 * A writer process for the audit log tests: appends COUNT rows to the database at URL as WRITER,
 * five at a time, then exits. Two of these run at once to show that two processes keep one chain.
 */
import { AuditLog } from '../../src/access/audit-log.ts';
import { openStore } from '../../src/store/open-store.ts';

const [url, writer, countText] = process.argv.slice(2);
const store = await openStore(url!);
try {
  const log = new AuditLog(store.db);
  const count = Number(countText);
  for (let i = 0; i < count; i += 5) {
    await Promise.all(
      [0, 1, 2, 3, 4]
        .filter((k) => i + k < count)
        .map((k) =>
          log.record({
            userId: i + k,
            username: `${writer}-user`,
            role: 'viewer',
            action: 'messages.read',
            corpid: 'wwA',
            conversation: 'room:wr1',
            query: { writer, i: i + k, filters: { z: 1, a: [2, 'b'] } },
            items: (i + k) % 7,
            reason: undefined,
            ip: '10.0.0.1',
            userAgent: 'Mozilla/5.0',
            requestId: `req-${writer}-${i + k}`,
          }),
        ),
    );
  }
} finally {
  await store.close();
}
