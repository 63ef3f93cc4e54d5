// Every way in, fuzzed against one real `ems run` process on loopback: hostile OCPP frames (see
// test/ocpp/ocpp-fuzz.ts), random HTTP requests to the API, garbage on the live WebSocket, garbage
// MQTT payloads through a real Mosquitto on every topic the EMS reads, garbage Modbus answers from
// a meter that lies, garbage OpenADR 3.1 JSON and 2.0b XML from VTNs that lie, and garbage on the
// 3.1 VEN's webhook listener. Bounded in count and in time. Afterwards the process must still run,
// answer /healthz and an OCPP probe, never have logged an unhandled rejection or uncaught exception,
// and its VENs must still poll. Used by test/security/listener-fuzz.test.ts (CI counts) and
// `npm run bench -- listener-fuzz` (100,000 inputs).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { apiBody, goodImage, jsonInput, mqttPayload, signalPayload, xmlInput } from '../fuzz/input-fuzz.ts';
import { MosquittoBroker } from '../fixtures/mosquitto.ts';
import { freePort, startEms, type EmsProcess } from '../helpers/ems-process.ts';
import { fuzzOcpp } from '../ocpp/ocpp-fuzz.ts';
import { RawCharger } from '../ocpp/raw-frames.ts';
import { seededRandom } from '../../plant/index.ts';

export interface ListenerCounts {
  /** Frames and connection actions on the OCPP WebSocket. */
  ocpp: number;
  /** HTTP requests to the API (random method, path, query, headers, body; with and without a session). */
  api: number;
  /** Frames on the live WebSocket (and connection attempts with hostile Origins). */
  live: number;
  /** MQTT messages on the topics the EMS subscribes to (devices, site limit, signals, sessions, HA). */
  mqtt: number;
  /** Requests to the OpenADR 3.1 VEN's webhook listener. */
  webhook: number;
  /** Garbage answers the EMS must take as a client, at its own pace (waited for until the deadline). */
  modbus: number;
  openadrJson: number;
  openadrXml: number;
}

/** API requests in flight at once (the other listeners' fuzzers keep their own pace). */
const API_IN_FLIGHT = 4;

export const CI_LISTENER_COUNTS: ListenerCounts = { ocpp: 3_000, api: 2_000, live: 500, mqtt: 3_000, webhook: 500, modbus: 100, openadrJson: 300, openadrXml: 300 };
export const BENCH_LISTENER_COUNTS: ListenerCounts = { ocpp: 30_000, api: 25_000, live: 5_000, mqtt: 30_000, webhook: 5_000, modbus: 1_000, openadrJson: 2_000, openadrXml: 2_000 };

export interface ListenerFuzzReport {
  sent: ListenerCounts;
  /** API answers by status class; a 5xx is a finding. */
  apiStatus: Record<string, number>;
  api5xx: string[];
  alive: boolean;
  healthz: number;
  ocppProbe: boolean;
  /** Log lines of the process guard (unhandled rejection, uncaught exception). */
  guardLines: string[];
  /** ems_security_events_total for unhandled-rejection / uncaught-exception. */
  guardEvents: number;
  /** Each VEN polled again after the fuzzing ended (it is not stuck). */
  vensPolling: boolean;
  rssMb: number[];
  /** Open file descriptors of the process, sampled with the RSS (a leak of sockets shows here). */
  fds: number[];
  /** When the process died: its exit code or signal and the last lines it wrote. */
  death?: { exit: number | string; tail: string };
  /** Until the active listeners (OCPP, API, live, MQTT, webhook) had their counts. */
  activeSeconds: number;
  seconds: number;
  deadlineHit: boolean;
}

/** A cycling pool of generated samples: cheap to draw from in a hot loop. */
function pool<T>(arbitrary: fc.Arbitrary<T>, seed: number, size = 400): () => T {
  const items = fc.sample(arbitrary, { numRuns: size, seed });
  let i = 0;
  return () => items[i++ % items.length]!;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** A SunSpec meter that lies: every answer to the EMS's Modbus TCP request is mangled in one of several ways. */
class LyingModbusMeter {
  answers = 0;
  private server: TcpServer | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly random: () => number) {}

  async start(port: number): Promise<void> {
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffer = Buffer.alloc(0);
      socket.on('data', (data) => {
        buffer = Buffer.concat([buffer, data]);
        while (buffer.length >= 12) {
          const length = buffer.readUInt16BE(4);
          if (buffer.length < 6 + length) break;
          const request = buffer.subarray(0, 6 + length);
          buffer = buffer.subarray(6 + length);
          this.answer(socket, request);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  private answer(socket: Socket, request: Buffer): void {
    this.answers++;
    const r = this.random;
    const tid = request.readUInt16BE(0);
    const unit = request[6]!;
    const fn = request[7]!;
    const address = request.length >= 10 ? request.readUInt16BE(8) : 0;
    const count = request.length >= 12 ? Math.min(125, request.readUInt16BE(10)) : 0;
    const words: number[] = [];
    for (let i = 0; i < count; i++) words.push(goodImage[address - 40000 + i] ?? 0xffff);
    // A few words of the image flipped: the map moved, or a register reads garbage.
    for (let flips = Math.floor(r() * 4); flips > 0 && words.length; flips--) words[Math.floor(r() * words.length)] = Math.floor(r() * 0x10000);
    const pdu = Buffer.alloc(2 + words.length * 2);
    pdu[0] = fn;
    pdu[1] = words.length * 2;
    words.forEach((w, i) => pdu.writeUInt16BE(w, 2 + i * 2));
    const frame = (body: Buffer, t = tid, declared = body.length + 1) => {
      const head = Buffer.alloc(7);
      head.writeUInt16BE(t, 0);
      head.writeUInt16BE(0, 2);
      head.writeUInt16BE(Math.max(0, Math.min(0xffff, declared)), 4);
      head[6] = unit;
      return Buffer.concat([head, body]);
    };
    const pick = r();
    if (pick < 0.3) socket.write(frame(pdu));
    else if (pick < 0.4) socket.write(frame(pdu, (tid + 1) & 0xffff));
    else if (pick < 0.5) socket.write(frame(pdu.subarray(0, Math.max(1, Math.floor(r() * pdu.length)))));
    else if (pick < 0.6) socket.write(frame(pdu, tid, pdu.length + 1 + Math.floor(r() * 20) - 10));
    else if (pick < 0.7) socket.write(frame(Buffer.from([fn | 0x80, 1 + Math.floor(r() * 11)])));
    else if (pick < 0.8) socket.write(Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))));
    else if (pick < 0.85) socket.destroy();
    else if (pick < 0.9) {
      /* no answer: the EMS's timeout */
    } else {
      const whole = frame(pdu);
      const cut = Math.max(1, Math.floor(r() * whole.length));
      socket.write(whole.subarray(0, cut));
      setTimeout(() => socket.writable && socket.write(whole.subarray(cut)), Math.floor(r() * 50));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** An HTTP peer (a VTN) that answers every request with something plausible-but-wrong or plain garbage. */
class LyingHttpPeer {
  answers = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    private readonly random: () => number,
    private readonly body: (path: string) => { status: number; type: string; text: string },
  ) {}

  async start(port: number): Promise<void> {
    this.server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        this.answers++;
        const r = this.random();
        if (r < 0.04) return void req.socket.destroy();
        if (r < 0.06) return; // never answers: the VEN's request timeout
        const { status, type, text } = this.body(req.url ?? '/');
        res.writeHead(status, { 'content-type': type });
        if (r < 0.1) {
          res.write(text.slice(0, Math.floor(text.length / 2)));
          req.socket.destroy();
          return;
        }
        res.end(text);
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const API_PATHS = [
  '/api/v1/state',
  '/api/v1/signals',
  '/api/v1/signals/x',
  '/api/v1/config',
  '/api/v1/sessions',
  '/api/v1/history',
  '/api/v1/audit',
  '/api/v1/users',
  '/api/v1/users/admin',
  '/api/v1/auth/login',
  '/api/v1/auth/setup',
  '/api/v1/auth/logout',
  '/api/v1/connectors/CP1/1/session',
  '/api/v1/connectors/CP1/9999/session',
  '/api/v1/openadr',
  '/api/v1/security',
  '/api/v1/plan',
  '/api/v1/kpis',
  '/api/v1/devices',
  '/metrics',
  '/healthz',
  '/api/docs',
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/main.js.map',
  '/',
];
const QUERIES = ['', '?to=99999999999999999', '?from=-1&to=1e400', '?resolution=x', '?limit=-5', '?action=%00', '?token=x', '?a[b][c]=1', `?x=${'A'.repeat(5000)}`];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const TYPES = ['application/json', 'text/yaml', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''];

export async function fuzzListeners(options: { counts: ListenerCounts; seed: number; deadlineMs: number; onProgress?: (what: string) => void }): Promise<ListenerFuzzReport> {
  const started = performance.now();
  const deadline = Date.now() + options.deadlineMs;
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sent: ListenerCounts = { ocpp: 0, api: 0, live: 0, mqtt: 0, webhook: 0, modbus: 0, openadrJson: 0, openadrXml: 0 };
  const report: ListenerFuzzReport = { sent, apiStatus: {}, api5xx: [], alive: false, healthz: 0, ocppProbe: false, guardLines: [], guardEvents: 0, vensPolling: false, rssMb: [], fds: [], activeSeconds: 0, seconds: 0, deadlineHit: false };

  const json = pool(jsonInput, options.seed + 1);
  const xml = pool(xmlInput, options.seed + 2);
  const bodies = pool(apiBody, options.seed + 3);
  const payloads = pool(mqttPayload, options.seed + 4);
  const signalSets = pool(signalPayload, options.seed + 5);
  const strings = pool(fc.string({ maxLength: 200 }), options.seed + 6);

  const broker = new MosquittoBroker();
  await broker.start();
  const meter = new LyingModbusMeter(seededRandom(options.seed + 7));
  const modbusPort = await freePort();
  await meter.start(modbusPort);
  const program = { id: 'p1', programName: 'dso', createdDateTime: new Date().toISOString(), modificationDateTime: new Date().toISOString(), objectType: 'PROGRAM' };
  const statuses = [200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 500, 503];
  const vtn3 = new LyingHttpPeer(seededRandom(options.seed + 8), (path) => {
    const r = random();
    if (r < 0.5) {
      // Plausible: the right shape for the path, with a mangled event where events are asked for.
      if (/token/.test(path)) return { status: 200, type: 'application/json', text: JSON.stringify({ access_token: 'fuzz-token', token_type: 'Bearer', expires_in: Math.floor(random() * 7200) - 60 }) };
      if (/programs/.test(path)) return { status: 200, type: 'application/json', text: JSON.stringify(random() < 0.8 ? [program] : [{ ...program, programName: strings() }]) };
      if (/events/.test(path)) return { status: 200, type: 'application/json', text: random() < 0.7 ? `[${json()}]` : json() };
      if (/vens/.test(path)) return { status: pick([200, 201]), type: 'application/json', text: random() < 0.5 ? JSON.stringify([{ id: 'ven-1', venName: 'fuzz-ven', objectType: 'VEN' }]) : json() };
      return { status: pick([200, 201]), type: 'application/json', text: json() };
    }
    return { status: pick(statuses), type: pick(['application/json', 'text/html', 'text/plain']), text: random() < 0.5 ? json() : strings() };
  });
  const vtn3Port = await freePort();
  await vtn3.start(vtn3Port);
  // The VEN takes the VTN's requested poll period (up to 5 min): the lying VTN asks for none, so the
  // VEN keeps coming back for more garbage at its configured pace.
  const vtn2b = new LyingHttpPeer(seededRandom(options.seed + 9), () => ({
    status: pick([200, 200, 200, 200, 400, 500]),
    type: pick(['application/xml', 'text/xml', 'text/plain']),
    text: xml().replace(/(oadrRequestedOadrPollFreq>\s*<xcal:duration>)[^<]*/g, '$1PT0S'),
  }));
  const vtn2bPort = await freePort();
  await vtn2b.start(vtn2bPort);
  let webhookPort = 0;

  let ems: EmsProcess | undefined;
  const cleanups: (() => Promise<unknown>)[] = [() => broker.stop(), () => meter.stop(), () => vtn3.stop(), () => vtn2b.stop()];
  /** The config; ports are picked free, but another process may take one before ems binds it: retried. */
  const config = () => ({
    site: { name: 'Listener fuzz', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63, meter: 'grid' },
    chargers: [
      { id: 'CP1', connectors: 2 },
      { id: 'CP2', connectors: 1, password: 'charger-password-2' },
      { id: 'PROBE', connectors: 1 },
    ],
    devices: [
      { id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port: modbusPort, pollIntervalMs: 100, timeoutMs: 200 },
      // Two more devices on the same lying line, with other register maps (other decoders).
      { id: 'load1', role: 'load', driver: 'modbus', host: '127.0.0.1', port: modbusPort, unitId: 2, profile: 'sdm630', pollIntervalMs: 100, timeoutMs: 200 },
      { id: 'load2', role: 'load', driver: 'modbus', host: '127.0.0.1', port: modbusPort, unitId: 3, profile: 'em24', pollIntervalMs: 100, timeoutMs: 200 },
      { id: 'pv', role: 'pv', driver: 'mqtt', topic: 'fuzz/pv/power', jsonPath: '$.W' },
      { id: 'bat', role: 'battery', driver: 'mqtt', topic: 'fuzz/bat/power', socTopic: { topic: 'fuzz/bat/soc' }, setpointTopic: 'fuzz/bat/set', control: false },
    ],
    mqtt: { url: broker.url, prefix: 'ems', homeAssistant: true },
    openadr: [
      {
        id: 'v3',
        version: '3.1',
        vtnUrl: `http://127.0.0.1:${vtn3Port}/openadr3/3.1.0`,
        venName: 'fuzz-ven',
        pollIntervalS: 0.05,
        requestTimeoutMs: 300,
        client: { id: 'ven-client', secret: 'ven-secret' },
        webhook: { host: '127.0.0.1', port: webhookPort, publicUrl: `http://127.0.0.1:${webhookPort}/notify` },
      },
      { id: 'v2', version: '2.0b', vtnUrl: `http://127.0.0.1:${vtn2bPort}/OpenADR2/Simple/2.0b`, venName: 'fuzz-ven-2b', pollIntervalS: 0.05, requestTimeoutMs: 300 },
    ],
  });
  try {
    for (let attempt = 1; !ems; attempt++) {
      webhookPort = await freePort();
      try {
        ems = await startEms(config());
      } catch (error) {
        if (attempt >= 3 || !/EADDRINUSE|in use/.test((error as Error).message)) throw error;
      }
    }
    const emsPid = ems.child.pid!;
    const sample = () => {
      if (!ems?.alive()) return;
      try {
        report.rssMb.push(rssMb(emsPid));
        report.fds.push(readdirSync(`/proc/${emsPid}/fd`).length);
      } catch {
        // The process ended between the check and the read.
      }
    };
    sample();
    const base = `http://127.0.0.1:${ems.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'process-test-password-1' }) });
    const { token } = (await login.json()) as { token: string };
    const timeLeft = () => Date.now() < deadline;

    const ocpp = (async () => {
      const frames = options.counts.ocpp;
      const result = await fuzzOcpp({
        port: ems!.ocppPort,
        frames,
        seed: options.seed,
        targets: [{ id: 'CP1' }, { id: 'CP2', password: 'charger-password-2' }],
        probeId: 'PROBE',
        batch: 250,
        onBatch: () => sample(),
      });
      // Every action: frames sent and connections (re)opened, as the fuzzer counts its budget.
      sent.ocpp = result.sent + result.connectionsOpened + result.connectionsRefused;
    })();

    // A few requests in flight at once: one at a time, each round trip waits for both processes to
    // be scheduled, which at load 35 made it 1.6 requests/s (681 of 2,000 in 420 s). The requests
    // come from the same seeded generator (shared with the other listeners' fuzzers, as before).
    const apiOne = async () => {
      while (sent.api < options.counts.api && timeLeft()) {
        const method = pick(METHODS);
        const path = `${pick(API_PATHS)}${pick(QUERIES)}`;
        const headers: Record<string, string> = {};
        const auth = random();
        if (auth < 0.6) headers.authorization = `Bearer ${token}`;
        else if (auth < 0.7) headers.authorization = `Bearer ${strings().replace(/[^\x21-\x7e]/g, '')}`;
        else if (auth < 0.75) headers.authorization = `Basic ${Buffer.from(strings()).toString('base64')}`;
        else if (auth < 0.8) headers.cookie = `ems_session=${encodeURIComponent(strings())}`;
        const type = pick(TYPES);
        if (type) headers['content-type'] = type;
        if (random() < 0.1) headers['x-forwarded-for'] = `127.0.0.${Math.floor(random() * 255)}`;
        const hasBody = method !== 'GET' && method !== 'HEAD';
        const body = hasBody ? (random() < 0.5 ? bodies() : random() < 0.5 ? JSON.stringify({ yaml: strings(), dryRun: true }) : strings()) : undefined;
        sent.api++;
        try {
          const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
          await res.arrayBuffer();
          const cls = `${Math.floor(res.status / 100)}xx`;
          report.apiStatus[cls] = (report.apiStatus[cls] ?? 0) + 1;
          if (res.status >= 500 && report.api5xx.length < 20) report.api5xx.push(`${method} ${path.slice(0, 120)} ${type} → ${res.status}`);
        } catch (error) {
          report.apiStatus.error = (report.apiStatus.error ?? 0) + 1;
          if (report.api5xx.length < 20) report.api5xx.push(`${method} ${path.slice(0, 120)}: ${(error as Error).message}`);
        }
        if (sent.api % 500 === 0) sample();
      }
    };
    const api = Promise.all(Array.from({ length: API_IN_FLIGHT }, apiOne));

    const live = (async () => {
      while (sent.live < options.counts.live && timeLeft()) {
        const origin = pick(['null', 'http://evil.example', `http://127.0.0.1:${ems!.httpPort}`, undefined]);
        const ws = new WebSocket(`ws://127.0.0.1:${ems!.httpPort}/api/v1/live?token=${random() < 0.8 ? token : 'x'}`, { headers: origin ? { origin } : {} });
        ws.on('error', () => undefined);
        const open = await new Promise<boolean>((resolve) => {
          ws.once('open', () => resolve(true));
          ws.once('close', () => resolve(false));
          ws.once('unexpected-response', () => resolve(false));
          setTimeout(() => resolve(false), 5_000);
        });
        sent.live++;
        for (let i = 0; open && i < 50 && sent.live < options.counts.live && ws.readyState === WebSocket.OPEN; i++) {
          const r = random();
          if (r < 0.6) ws.send(strings());
          else if (r < 0.8) ws.send(bodies());
          else if (r < 0.95) ws.send(Buffer.from(Array.from({ length: Math.floor(random() * 500) }, () => Math.floor(random() * 256))));
          else ws.send('x'.repeat(70 * 1024)); // over the live feed's 64 KiB limit
          sent.live++;
        }
        ws.terminate();
      }
    })();

    const mqttFuzz = (async () => {
      const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      const topics = [
        'fuzz/pv/power',
        'fuzz/bat/power',
        'fuzz/bat/soc',
        'ems/site/limit/set',
        'ems/site/chargeMode/set',
        'ems/site/x/set',
        'ems/signals/box/set',
        'ems/signals//set',
        'ems/connectors/CP1/1/mode/set',
        'ems/connectors/CP1/1/departure/set',
        'ems/connectors/CP1/1/energyNeedWh/set',
        'ems/connectors/CP1/1/tier/set',
        'ems/connectors/CP1/99/pause/set',
        'ems/connectors/NOPE/1/x/set',
        'homeassistant/status',
      ];
      try {
        while (sent.mqtt < options.counts.mqtt && timeLeft()) {
          const topic = pick(topics);
          const r = random();
          const payload = topic.includes('/signals/') && r < 0.7 ? signalSets() : r < 0.85 ? payloads() : r < 0.95 ? strings() : Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
          await client.publishAsync(topic, payload, { qos: 1 });
          sent.mqtt++;
          if (sent.mqtt % 1000 === 0) sample();
        }
      } finally {
        await client.endAsync();
      }
    })();

    const webhook = (async () => {
      while (sent.webhook < options.counts.webhook && timeLeft()) {
        const notification = random() < 0.6 ? json() : strings();
        const headers: Record<string, string> = { 'content-type': pick(TYPES) || 'application/json' };
        if (random() < 0.5) headers.authorization = `Bearer ${strings().replace(/[^\x21-\x7e]/g, '')}`;
        sent.webhook++;
        try {
          const res = await fetch(`http://127.0.0.1:${webhookPort}/${pick(['notify', '', 'x/../y'])}`, { method: pick(['POST', 'POST', 'GET', 'PUT']), headers, body: notification, signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
        } catch {
          // A refused or reset connection is an answer too; what counts is the process afterwards.
        }
      }
    })();

    await Promise.all([ocpp, api, live, mqttFuzz, webhook]);
    report.activeSeconds = (performance.now() - started) / 1000;
    options.onProgress?.('active listeners done; waiting for the client-side answers');
    // The EMS pulls Modbus and OpenADR at its own pace: wait for the counts, or the deadline.
    while ((meter.answers < options.counts.modbus || vtn3.answers < options.counts.openadrJson || vtn2b.answers < options.counts.openadrXml) && timeLeft()) {
      await new Promise((r) => setTimeout(r, 200));
    }
    report.deadlineHit = !timeLeft();
    sent.modbus = meter.answers;
    sent.openadrJson = vtn3.answers;
    sent.openadrXml = vtn2b.answers;
    sample();

    // The user's view afterwards.
    report.alive = ems.alive();
    if (report.alive) {
      report.healthz = (await fetch(`${base}/healthz`)).status;
      const probe = await RawCharger.open(ems.ocppPort, 'PROBE');
      probe.send(JSON.stringify([2, 'after-fuzz', 'Heartbeat', {}]));
      report.ocppProbe = (await probe.answerTo('after-fuzz'))[0] === 3;
      probe.terminate();
      const polled = { v3: vtn3.answers, v2: vtn2b.answers };
      // One more poll of each VEN proves they still poll; the bound is generous for a loaded machine.
      const until = Date.now() + 30_000;
      while ((vtn3.answers === polled.v3 || vtn2b.answers === polled.v2) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      report.vensPolling = vtn3.answers > polled.v3 && vtn2b.answers > polled.v2;
      const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      for (const m of metrics.matchAll(/^ems_security_events_total\{[^}]*kind="(unhandled-rejection|uncaught-exception)"[^}]*\} (\d+)/gm)) report.guardEvents += Number(m[2]);
    }
    if (!report.alive) report.death = { exit: await ems.exited, tail: `${ems.stderr().slice(-2000)}\n${ems.stdout().slice(-4000)}` };
    report.guardLines = (ems.stdout() + ems.stderr()).split('\n').filter((l) => /unhandled promise rejection|uncaught (exception|error)|Unhandled|UnhandledPromiseRejection/i.test(l)).slice(0, 20);
  } finally {
    if (ems?.alive()) {
      ems.kill('SIGTERM');
      await ems.exited;
    }
    for (const step of cleanups) await step().catch(() => undefined);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
