/**
 * Figures of the native SDK path, measured through the real supervision code with the
 * test double (test/native/double) serving a simulator in this process:
 *
 * - calls/s through one host: DecryptData, one call in flight, many queued, and 256 to an exchange
 *   (decryptMany, as the decrypt stage calls it); and the host's own cost (IPC + FFI) with calls
 *   the library answers at once: calls/s and CPU time a call (this process and the host), one call
 *   to an exchange and 256;
 * - host start time, and the time a crash adds to the call it interrupts (cold: a new process is
 *   started; warm: the pool's spare host takes over);
 * - each host's resident memory before and after 100,000 calls (plus large chat pages and media
 *   chunks), and how much it grew (`hostRssMB.growth`, per lane), which must stay flat: well under
 *   40 MB a lane (a Slice or MediaData not freed per call would add hundreds of MB).
 *
 * Prints one JSON line. `npm run bench:native [-- --calls N]`.
 */
import { parseArgs } from 'node:util';
import { cpuSeconds } from './process-rss.ts';
import { SdkHost } from '../src/sdk/native/sdk-host.ts';
import { createNativeBackend, type NativeBackend } from '../src/sdk/native/native-backend.ts';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.ts';
import { openRandomKey, parseChatData } from '../test/support/chat-data.ts';
import { buildFinanceDouble } from '../test/native/build-double.ts';
import { doubleEnv, tempFile } from '../test/native/native-support.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '100000' } } });
const CALLS = Number(values.calls);
const WINDOW = 256;
/** messages per decryptMany exchange: the decrypt stage's batch */
const BATCH = 256;
const MB = 1048576;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function decryptInputs(backend: NativeBackend, sim: RunningSimulator) {
  const envelopes = parseChatData(await backend.getChatData({ seq: 0n, limit: 1000, proxy: '', passwd: '', timeoutS: 10 })).chatdata;
  return envelopes.map((e) => ({ key: openRandomKey(e, sim.privateKeys), msg: e.encrypt_chat_msg }));
}

/** `count` DecryptData calls, `per` to an exchange (decryptMany), one exchange at a time; returns calls per second. */
async function decryptManyRun(backend: NativeBackend, inputs: Array<{ key: Buffer; msg: string }>, count: number, per: number): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < count; done += per) {
    const items = Array.from({ length: Math.min(per, count - done) }, (_, k) => inputs[(done + k) % inputs.length]!);
    const answers = await backend.decryptMany(items.map((i) => ({ encryptKey: i.key, encryptMsg: i.msg })));
    if (answers.length !== items.length) throw new Error('decryptMany answered for the wrong number of messages');
  }
  return count / ((performance.now() - started) / 1000);
}

/** `count` DecryptData calls with up to `inflight` queued at once; returns calls per second. */
async function decryptRun(backend: NativeBackend, inputs: Array<{ key: Buffer; msg: string }>, count: number, inflight: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < count) {
        const i = next++;
        const input = inputs[i % inputs.length]!;
        await backend.decryptData(input.key, input.msg);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const lib = await buildFinanceDouble();
const sim = await startSimulator({ messages: 1000, seed: 'bench-native' });
try {
  // --- host start time -------------------------------------------------------------------------
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const host = await SdkHost.start({ libPath: lib, corpid: sim.corp.corpid, secret: sim.corp.secret, env: doubleEnv(sim) });
    starts.push(performance.now() - t);
    await host.retire();
  }

  // --- throughput and memory over CALLS calls ----------------------------------------------------
  const backend = createNativeBackend({ libPath: lib, corpid: sim.corp.corpid, secret: sim.corp.secret, env: doubleEnv(sim) });
  const inputs = await decryptInputs(backend, sim);
  const chunkFile = sim.sim.media.sdkFileId('dat', 0, 0, 0); // one full 512 KB chunk
  const media = () => backend.getMediaData({ indexBuf: '', sdkFileId: chunkFile, proxy: '', passwd: '', timeoutS: 10 });
  const page = () => backend.getChatData({ seq: 0n, limit: 1000, proxy: '', passwd: '', timeoutS: 10 });
  // warm-up: every host reaches its working size
  await decryptRun(backend, inputs, 2_000, WINDOW);
  for (let i = 0; i < 20; i++) await Promise.all([media(), page()]);
  const rssOf = () => Object.fromEntries(backend.stats().hosts.map((h) => [h.lane, h.rss]));
  const before = rssOf();

  const sequential = await decryptRun(backend, inputs, Math.min(5_000, CALLS), 1);
  const pipelined = await decryptRun(backend, inputs, CALLS, WINDOW);
  const batched = await decryptManyRun(backend, inputs, Math.min(20_000, CALLS), BATCH);
  let mediaBytes = 0;
  const mediaStart = performance.now();
  for (let i = 0; i < 1_000; i++) mediaBytes += (await media()).data.length;
  const mediaMBps = mediaBytes / MB / ((performance.now() - mediaStart) / 1000);
  for (let i = 0; i < 100; i++) await page();
  const after = rssOf();
  const restartsDuringLoad = backend.stats().restarts;
  await backend.close();

  // --- the host's own cost: calls the library answers at once (an SDK code, no HTTP) ----------------
  const instant = createNativeBackend({
    libPath: lib,
    corpid: sim.corp.corpid,
    secret: sim.corp.secret,
    env: doubleEnv(sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_RET: '10006' }),
  });
  const swallow = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        while (next++ < n) await instant.decryptData(inputs[0]!.key, inputs[0]!.msg).catch(() => undefined);
      }),
    );
  };
  // calls per second, and CPU time a call (this process and the host together)
  const hostCost = async (run: (n: number) => Promise<unknown>, n: number) => {
    const hostPid = instant.stats().hosts.find((h) => h.lane === 'decrypt')!.pid;
    const hostBefore = cpuSeconds(hostPid) ?? 0;
    const mine = process.cpuUsage();
    const t = performance.now();
    await run(n);
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(mine);
    const cpu = (used.user + used.system) / 1e6 + (cpuSeconds(hostPid) ?? hostBefore) - hostBefore;
    return { perSecond: n / seconds, cpuUs: (cpu * 1e6) / n };
  };
  await swallow(2_000);
  const single = await hostCost(swallow, Math.min(20_000, CALLS));
  const many = await hostCost((n) => decryptManyRun(instant, inputs, n, BATCH), Math.min(100_000, CALLS));
  await instant.close();

  // --- restart time after a crash ----------------------------------------------------------------
  // Calls 21, 41, … die of SIGSEGV; the crashed call's latency minus a normal call's is the restart.
  const crashy = createNativeBackend({
    libPath: lib,
    corpid: sim.corp.corpid,
    secret: sim.corp.secret,
    env: doubleEnv(sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_SEGV: Array.from({ length: 11 }, (_, k) => 21 + 20 * k).join(','), WECOM_DOUBLE_COUNTER: tempFile('counter') }),
  });
  const latencies: number[] = [];
  const crashed: number[] = [];
  for (let call = 1, n = 0; n < 11; call++) {
    const input = inputs[call % inputs.length]!;
    const restartsBefore = crashy.stats().restarts;
    const t = performance.now();
    await crashy.decryptData(input.key, input.msg);
    const ms = performance.now() - t;
    if (crashy.stats().restarts > restartsBefore) {
      crashed.push(ms);
      n += 1;
      call += 1; // the retry used the next call number
      await new Promise((r) => setTimeout(r, 1_500)); // let the spare host start, as between real crashes
    } else if (call > 1) {
      latencies.push(ms);
    }
  }
  await crashy.close();
  const normal = median(latencies);

  const mb = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v / MB)]));
  console.log(
    JSON.stringify({
      bench: 'native-host',
      note: 'DecryptData through one host; the double answers each call over HTTP from a simulator in this process, so these are lower bounds for the real SDK',
      calls: CALLS,
      decryptCallsPerSecond: {
        oneInFlight: Math.round(sequential),
        pipelined: Math.round(pipelined),
        [`many${BATCH}`]: Math.round(batched),
        hostOnlyNoHttp: Math.round(single.perSecond),
        [`hostOnlyNoHttpMany${BATCH}`]: Math.round(many.perSecond),
      },
      hostOnlyCpuUsPerCall: { single: round(single.cpuUs), [`many${BATCH}`]: round(many.cpuUs, 2) },
      mediaMBPerSecond: round(mediaMBps),
      hostStartMs: round(median(starts), 0),
      restartAfterCrashMs: { cold: round(crashed[0]! - normal, 0), warmSpare: round(median(crashed.slice(1)) - normal, 0), normalCallMs: round(normal, 2) },
      hostRssMB: {
        before: mb(before),
        after: mb(after),
        growth: mb(Object.fromEntries(Object.keys(after).map((lane) => [lane, after[lane]! - (before[lane] ?? 0)]))),
        callsBetween: CALLS + 1_000 + 100 + Math.min(5_000, CALLS),
      },
      restartsDuringLoad,
    }),
  );
} finally {
  await sim.close();
}
