/**
 * The control API tests and demos use to steer the simulator: read its state, move its clock,
 * add messages, change the rate, rotate keys, and queue faults. Never returns a secret or a
 * private key (the corp secret and keys reach the archive only through the 0600 config file).
 */
import { ValidationError } from '../../errors/errors.ts';
import type { Simulator } from '../core/simulator.ts';
import { parseFaultSpec, validateFaultSpec, type FaultSpec } from './faults.ts';

export interface ControlReply {
  status: number;
  json: unknown;
}

function numberField(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError('CONTROL_INVALID', `"${name}" must be a number`);
  return v;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('CONTROL_INVALID', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function toFault(input: unknown): FaultSpec {
  const spec = typeof input === 'object' && input !== null ? (input as Record<string, unknown>).spec : undefined;
  return typeof spec === 'string' ? parseFaultSpec(spec) : validateFaultSpec(input);
}

function appended(sim: Simulator, r: { first: number; count: number }): ControlReply {
  return {
    status: 200,
    json: {
      first: r.first,
      count: r.count,
      firstSeq: r.count > 0 ? sim.seqOf(r.first).toString() : '',
      lastSeq: r.count > 0 ? sim.seqOf(r.first + r.count - 1).toString() : '',
      state: sim.state(),
    },
  };
}

/** Dispatches `METHOD /control/<name>`; undefined when there is no such control route. */
export async function controlRoute(sim: Simulator, method: string, name: string, body: unknown): Promise<ControlReply | undefined> {
  switch (`${method} ${name}`) {
    case 'GET state':
      return { status: 200, json: sim.state() };
    case 'POST clock': {
      const b = asObject(body);
      const advanceMs = numberField(b, 'advanceMs');
      if (advanceMs === undefined) throw new ValidationError('CONTROL_INVALID', 'POST /control/clock needs {"advanceMs": N}');
      sim.advanceClock(advanceMs);
      return { status: 200, json: sim.state() };
    }
    case 'POST messages': {
      const b = asObject(body);
      if (Array.isArray(b.fixtures)) {
        if (!b.fixtures.every((l) => typeof l === 'string')) throw new ValidationError('CONTROL_INVALID', '"fixtures" must be an array of plaintext JSON strings');
        return appended(sim, sim.appendFixtures(b.fixtures as string[]));
      }
      const generate = numberField(b, 'generate');
      if (generate === undefined) throw new ValidationError('CONTROL_INVALID', 'POST /control/messages needs {"generate": N} or {"fixtures": ["…", …]}');
      return appended(sim, sim.appendGenerated(generate));
    }
    case 'POST rate': {
      const perSecond = numberField(asObject(body), 'perSecond');
      if (perSecond === undefined) throw new ValidationError('CONTROL_INVALID', 'POST /control/rate needs {"perSecond": N}');
      sim.setRate(perSecond);
      return { status: 200, json: sim.state() };
    }
    case 'POST faults': {
      const faults = (Array.isArray(body) ? body : [body]).map(toFault);
      for (const f of faults) sim.faults.add(f);
      return { status: 200, json: { queued: sim.faults.list().length } };
    }
    case 'DELETE faults':
      sim.faults.clear();
      return { status: 200, json: { queued: 0 } };
    case 'POST keys': {
      const b = asObject(body);
      const pem = b.publicKeyPem;
      if (pem !== undefined && typeof pem !== 'string') throw new ValidationError('CONTROL_INVALID', '"publicKeyPem" must be a PEM string');
      const r = await sim.rotateKey({ version: numberField(b, 'version'), key: pem });
      return { status: 200, json: r };
    }
    default:
      return undefined;
  }
}
