// A seeded OCPP-J fuzzer: connections that replace each other, oversize, deeply nested, invalid
// UTF-8, truncated and mutated frames, random idTags; a probe charger proves after every batch that
// the central system still answers. Used by hostile-peer tests (bounded) and `npm run bench -- ocpp-fuzz`.
import WebSocket from 'ws';
import { INVALID_UTF8_FRAME, OVERSIZE_FRAME, RawCharger, deepFrame } from './raw-frames.ts';
import { seededRandom } from '../../plant/index.ts';

export interface FuzzOptions {
  port: number;
  frames: number;
  seed: number;
  /** Charger ids to attack; a password is sometimes given right, sometimes wrong. */
  targets: { id: string; password?: string }[];
  /** A charger id the fuzzer never attacks: it sends a Heartbeat after every batch. */
  probeId: string;
  batch?: number;
  /** Called after every batch (e.g. to sample memory). */
  onBatch?: (sent: number) => void | Promise<void>;
}

export interface FuzzReport {
  sent: number;
  connectionsOpened: number;
  connectionsRefused: number;
  probesAnswered: number;
}

const ACTIONS = ['Heartbeat', 'BootNotification', 'StatusNotification', 'StartTransaction', 'StopTransaction', 'MeterValues', 'Authorize', 'DataTransfer', 'MakeCoffee'];
const TAG_CHARS = ['A', '1', ' ', '\u0007', '\ud800', '\udc00', '\ud83d\ude00', 'é', '"', '\\', '\u0000'];

export async function fuzzOcpp(options: FuzzOptions): Promise<FuzzReport> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (n: number) => Math.floor(random() * n);
  const report: FuzzReport = { sent: 0, connectionsOpened: 0, connectionsRefused: 0, probesAnswered: 0 };
  const pool: RawCharger[] = [];
  const batch = options.batch ?? 250;

  const open = async () => {
    const target = pick(options.targets);
    const password = target.password === undefined ? undefined : random() < 0.8 ? target.password : 'wrong-password-x';
    try {
      const raw = await RawCharger.open(options.port, target.id, password ? { headers: { authorization: `Basic ${Buffer.from(`${target.id}:${password}`).toString('base64')}` } } : {});
      report.connectionsOpened++;
      pool.push(raw);
      if (pool.length > 4) pool.shift()!.terminate();
    } catch {
      report.connectionsRefused++;
    }
  };
  const idTag = () => Array.from({ length: 1 + int(24) }, () => pick(TAG_CHARS)).join('');
  const params = (action: string): unknown => {
    switch (action) {
      case 'StatusNotification':
        return { connectorId: pick([0, 1, 2, 9, -1, 'x']), errorCode: pick(['NoError', 'Bogus']), status: pick(['Available', 'Charging', 'Plugged']) };
      case 'StartTransaction':
        return { connectorId: pick([1, 2, 7]), idTag: idTag(), meterStart: pick([0, -5, 1e308, 'x']), timestamp: pick(['2026-11-24T10:00:00Z', 'yesterday']) };
      case 'StopTransaction':
        return { transactionId: int(5), meterStop: int(100000), timestamp: '2026-11-24T11:00:00Z', idTag: idTag() };
      case 'Authorize':
        return { idTag: idTag() };
      case 'MeterValues':
        return { connectorId: 1, meterValue: [{ timestamp: '2026-11-24T10:00:00Z', sampledValue: [{ value: pick(['12', 'NaN', '1e400', '']), measurand: 'Current.Import', phase: 'L1' }] }] };
      default:
        return pick([{}, [], null, 'x', { vendorId: 'v', data: 'x'.repeat(int(2000)) }]);
    }
  };
  const validish = () => JSON.stringify([pick([2, 2, 2, 3, 4, 5, '2']), pick([`m${int(1e6)}`, int(100), '', null]), pick(ACTIONS), params(pick(ACTIONS))]);
  const mutate = (text: string) => {
    const chars = [...text];
    for (let i = 0, n = 1 + int(4); i < n; i++) {
      const at = int(chars.length + 1);
      if (random() < 0.5) chars.splice(at, 1);
      else chars.splice(at, 0, pick(['[', ']', '{', '}', '"', ',', ':', '\\', '\ud800', '9', 'e']));
    }
    return random() < 0.3 ? chars.slice(0, int(chars.length)).join('') : chars.join('');
  };

  const probe = await RawCharger.open(options.port, options.probeId);
  try {
    await open();
    for (let sent = 0; sent < options.frames; ) {
      const end = Math.min(options.frames, sent + batch);
      for (; sent < end; sent++) {
        const roll = random();
        if (roll < 0.04 || pool.length === 0) {
          await open();
          continue;
        }
        const target = pick(pool);
        if (roll < 0.06) target.writeRaw(INVALID_UTF8_FRAME);
        else if (roll < 0.07) target.writeRaw(OVERSIZE_FRAME);
        else if (roll < 0.1) target.send(deepFrame(`d${sent}`, pick([33, 500, 5_000, 20_000])));
        else if (roll < 0.5) target.send(validish());
        else if (roll < 0.9) target.send(mutate(validish()));
        else target.send(Array.from({ length: int(64) }, () => String.fromCharCode(int(0xffff))).join(''));
        report.sent++;
        if (target.closed) pool.splice(pool.indexOf(target), 1);
      }
      // Backpressure and liveness: the probe's Heartbeat is answered after this batch was read.
      await Promise.all(pool.map((raw) => drained(raw.ws)));
      const id = `probe-${sent}`;
      probe.send(JSON.stringify([2, id, 'Heartbeat', {}]));
      const answer = await probe.answerTo(id);
      if (answer[0] === 3) report.probesAnswered++;
      await options.onBatch?.(sent);
    }
  } finally {
    for (const raw of pool) raw.terminate();
    probe.terminate();
  }
  return report;
}

async function drained(ws: WebSocket): Promise<void> {
  while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > 0) await new Promise((resolve) => setImmediate(resolve));
}
