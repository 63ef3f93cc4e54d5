// The closed loop over loopback with independent peers: a pymodbus SunSpec meter (model 203) that
// serves the plant's true total every 100 ms, strict OCPP 1.6J chargers (ocpp-rpc, official
// schemas) that send MeterValues every 10 s whatever they are asked and whose cars follow a new
// limit after 1.5 s, and the real EMS (startApp). One real-time timeline: a full car at ~15 s, a
// building-load step at 35 s, an operator import limit at 55 s (through the signal timeline the
// POST /api/v1/signals route feeds; that route is w13's), a single-phase car throughout. Every
// assertion is on what the meter read.
import ocppRpc from 'ocpp-rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sunSpecImage, modelAddress, type ModelSpec } from '../../adapters/modbus/sunspec-image.ts';
import { configSchema } from '../../config/schema.ts';
import { carSpec, chargerSpec, SitePlant, type PlantEvent, type PlantScenario } from '../../plant/index.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { PymodbusPeer } from '../fixtures/pymodbus/pymodbus-peer.ts';
import { describeWithPeer, hasPythonModule } from '../helpers/peers.ts';
import { plantProfile } from '../../src/simulate/virtual-dispatcher.ts';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => any };

const FUSE_A = 40;
const MARGIN = 0.05;
const LIMIT_W = 18_000;
// The step comes 20 s after the full car, so the share it gives away has time to show on the meter
// on a loaded machine (with the step at 25 s a 3 s window was all there was: 28 A at load 15).
const STEP_AT_MS = 35_000;
const LIMIT_AT_MS = 55_000;
const END_MS = 80_000;
/** Meter poll + control cycle + answer + the car's 1.5 s + slack for a loaded machine. */
const REACTION_MS = 8_000;

function scenario(startAtMs: number): PlantScenario {
  const chargers = [
    chargerSpec('CP1', { applyDelayMs: 0, answerDelayMs: 0, meterValuesPeriodMs: 10_000 }),
    chargerSpec('CP2', { applyDelayMs: 0, answerDelayMs: 0, meterValuesPeriodMs: 10_000 }),
    chargerSpec('CP3', { applyDelayMs: 0, answerDelayMs: 0, meterValuesPeriodMs: 10_000, phaseRotation: 'L2L3L1' }),
  ];
  const cars = [
    carSpec('van', 'CP1', { arriveAtMs: 1_000 }),
    carSpec('nearly-full', 'CP2', { arriveAtMs: 1_000, capacityWh: 2_000, socPct: 97, targetSocPct: 98, taperFromPct: 100 }),
    carSpec('phev', 'CP3', { arriveAtMs: 1_500, phases: 1, maxCurrentA: 16 }),
  ];
  return {
    name: 'loopback',
    seed: 99,
    startAtMs,
    utcOffsetH: 0,
    durationMs: END_MS,
    voltageV: 230,
    circuit: { id: 'site', maxCurrentA: FUSE_A, chargerIds: ['CP1', 'CP2', 'CP3'], children: [] },
    loads: [{ circuitId: 'site', baseA: [8, 8, 8], steps: [{ atMs: STEP_AT_MS, currentA: [20, 20, 20] }] }],
    meters: [],
    chargers,
    cars,
    signals: [],
  };
}

const meterModels = (a: [number, number, number], w: number): ModelSpec[] => [
  { id: 1, common: { manufacturer: 'Plant', model: 'Grid meter', serial: 'PLANT-1' } },
  { id: 203, values: { W: Math.round(w), AphA: a[0], AphB: a[1], AphC: a[2], PhVphA: 230, PhVphB: 230, PhVphC: 230 }, scaleFactors: { 6: -1, 15: -1, 22: 0 } },
];

interface MeterSample {
  atMs: number;
  currentA: [number, number, number];
  powerW: number;
}

/** A strict OCPP 1.6J charger whose connectors and cars are the plant's. */
class PlantCharger16 {
  readonly client: any;
  private readonly emsTx = new Map<number, number>(); // plant tx → EMS tx
  private readonly plantTx = new Map<number, number>(); // EMS tx → plant tx
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    endpoint: string,
    private readonly plant: SitePlant,
  ) {
    this.client = new RPCClient({ endpoint, identity: id, protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
    this.client.handle('GetConfiguration', () => ({
      configurationKey: [
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
        { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '5' },
        { key: 'MeterValueSampleInterval', readonly: false, value: '10' },
      ],
      unknownKey: [],
    }));
    // Accepted, and ignored: this charger samples every 10 s whatever it is asked.
    this.client.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    this.client.handle('TriggerMessage', () => ({ status: 'Rejected' }));
    this.client.handle('ClearChargingProfile', () => ({ status: 'Accepted' }));
    this.client.handle('SetChargingProfile', ({ params }: { params: any }) => {
      const wire = params.csChargingProfiles;
      const profile = plantProfile(params.connectorId, wire, plant.scenario.startAtMs);
      if (profile.transactionId !== undefined) profile.transactionId = this.plantTx.get(profile.transactionId) ?? -1;
      return { status: this.plant.setChargingProfile(this.id, profile).status === 'Accepted' ? 'Accepted' : 'Rejected' };
    });
  }

  async connect(): Promise<void> {
    await this.client.connect();
    await this.client.call('BootNotification', { chargePointVendor: 'Plant', chargePointModel: 'Strict-16' });
  }

  /** Sends what the plant's charger reports, in order. */
  deliver(event: PlantEvent): void {
    this.queue = this.queue.then(() => this.send(event)).catch(() => undefined);
  }

  private async send(event: PlantEvent): Promise<void> {
    const iso = (atMs: number) => new Date(this.plant.wallMs(atMs)).toISOString();
    switch (event.kind) {
      case 'status':
        await this.client.call('StatusNotification', { connectorId: event.connectorId, errorCode: 'NoError', status: event.status, timestamp: iso(event.atMs) });
        return;
      case 'transaction-started': {
        const answer = await this.client.call('StartTransaction', { connectorId: event.connectorId, idTag: 'PLANT1', meterStart: event.meterStartWh, timestamp: iso(event.atMs) });
        this.emsTx.set(event.transactionId, answer.transactionId);
        this.plantTx.set(answer.transactionId, event.transactionId);
        return;
      }
      case 'transaction-ended':
        await this.client.call('StopTransaction', { transactionId: this.emsTx.get(event.transactionId) ?? 0, meterStop: event.meterStopWh, timestamp: iso(event.atMs) });
        return;
      case 'meter-values': {
        const sampledValue = [
          ...(event.currentA ?? [0, 0, 0]).map((a, i) => ({ value: a.toFixed(1), measurand: 'Current.Import', phase: `L${i + 1}`, unit: 'A' })),
          { value: String(event.powerW), measurand: 'Power.Active.Import', unit: 'W' },
          { value: String(event.energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          { value: String(event.socPct), measurand: 'SoC', unit: 'Percent' },
        ];
        const transactionId = [...this.emsTx.values()].at(-1);
        await this.client.call('MeterValues', { connectorId: event.connectorId, ...(transactionId === undefined ? {} : { transactionId }), meterValue: [{ timestamp: iso(event.measuredAtMs), sampledValue }] });
        return;
      }
      default:
        return;
    }
  }

  async close(): Promise<void> {
    await this.client.close({ force: true }).catch(() => undefined);
  }
}

describeWithPeer('python3-pymodbus', hasPythonModule('pymodbus'), 'the closed loop over loopback: pymodbus meter, strict OCPP chargers, the real EMS', () => {
  const samples: MeterSample[] = [];
  const decisions: string[] = [];
  let peer: PymodbusPeer | undefined;
  let app: App | undefined;
  let chargers: PlantCharger16[] = [];
  let fullAtMs: number | undefined;
  let address203 = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    const siteChargers = scenario(t0).chargers;
    const image = (a: [number, number, number], w: number) => sunSpecImage(meterModels(a, w));
    address203 = modelAddress(40000, meterModels([0, 0, 0], 0), 203);
    peer = new PymodbusPeer({ units: { 1: { hr: { 40000: image([8, 8, 8], 8 * 3 * 230) } } } });
    const port = await peer.start();
    const config = configSchema.parse({
      site: { name: 'Loopback plant', voltage: 230 },
      grid: { maxCurrent: FUSE_A, meter: 'grid', safetyMargin: MARGIN },
      control: { priority: 'equal' },
      chargers: siteChargers.map((c) => ({ id: c.id, maxCurrent: c.maxCurrentA, phases: c.phases, phaseRotation: c.phaseRotation })),
      idTags: [{ idTag: 'PLANT1', tier: 'staff' }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'modbus', host: '127.0.0.1', port, unitId: 1, profile: 'sunspec', sunspecBase: 40000, pollIntervalMs: 250 }],
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: ':memory:' },
    });
    app = await startApp({ config, log: silentLogger });
    if (process.env.LOOPBACK_TRACE) app.ctx.bus.on('device.reading', (r) => decisions.push(`${Date.now() - t0} READING ${r.currentA?.join(',')} @${r.atMs - t0}`));
    if (process.env.LOOPBACK_TRACE) app.ctx.bus.on('decision', (d) => decisions.push(`${Date.now() - t0} grid=${app!.ctx.state.devices.get('grid')?.reading?.currentA?.join(',')}@${(app!.ctx.state.devices.get('grid')?.reading?.atMs ?? 0) - t0} draws=${[...app!.ctx.state.connectors.values()].map((c) => `${c.drawA.join(',')}@${(c.drawAtMs ?? 0) - t0}:${c.status}`).join(' ')} fs=${d.failsafe} b=${d.headroom.buildingA.map((x) => x.toFixed(1))} caps=${d.caps.map((c) => `${c.currentA}(${c.reason.text})`).join(' / ')}`));
    // The plant starts now, so its clock (wallMs = start + plant time), which stamps the chargers'
    // StatusNotification and MeterValues, is the EMS's clock: the chargers report true times.
    const started = Date.now();
    const plant = new SitePlant(scenario(started));
    chargers = plant.scenario.chargers.map((c) => new PlantCharger16(c.id, `ws://127.0.0.1:${app!.ocppPort}/ocpp`, plant));
    await Promise.all(chargers.map((c) => c.connect()));
    const byId = new Map(chargers.map((c) => [c.id, c]));
    if (process.env.LOOPBACK_TRACE) console.info('started - t0', started - t0);
    await new Promise<void>((resolve, reject) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        void (async () => {
          const atMs = Math.min(END_MS, Date.now() - started);
          for (const event of plant.stepTo(atMs)) if ('chargerId' in event) byId.get(event.chargerId)?.deliver(event);
          const truth = plant.truth();
          if (fullAtMs === undefined && truth.connectors.find((c) => c.carId === 'nearly-full')?.status === 'SuspendedEV') fullAtMs = atMs;
          const a = truth.nodeA.get('site')!.map((x) => Math.round(x * 10) / 10) as [number, number, number];
          await peer!.set(1, 'hr', 40000, image(a, truth.gridPowerW));
          if (LIMIT_AT_MS <= atMs && !samples.some((s) => s.atMs >= LIMIT_AT_MS)) {
            app!.signals.submit('operator', [{ id: 'op-1', source: 'operator', kind: 'import-limit', startMs: Date.now(), endMs: Date.now() + 600_000, value: LIMIT_W }]);
          }
          // What the meter serves, read back from the meter.
          const regs = await peer!.get(1, 'hr', address203, 24);
          const sfA = (regs[6]! << 16) >> 16;
          const amps = [regs[3]!, regs[4]!, regs[5]!].map((r) => ((r << 16) >> 16) * 10 ** sfA) as [number, number, number];
          samples.push({ atMs, currentA: amps, powerW: (amps[0] + amps[1] + amps[2]) * 230 });
          if (atMs >= END_MS) {
            clearInterval(timer);
            resolve();
          }
        })()
          .catch((error) => {
            clearInterval(timer);
            reject(error);
          })
          .finally(() => (busy = false));
      }, 100);
    });
  }, 180_000);

  afterAll(async () => {
    if (process.env.LOOPBACK_TRACE) console.info(decisions.filter((d) => d.includes('READING')).join('\n'));
    if (process.env.LOOPBACK_TRACE) for (const s of samples.filter((x) => x.atMs % 1000 < 100)) console.info(s.atMs, s.currentA.map((a) => a.toFixed(1)).join(' '), Math.round(s.powerW), decisions.filter((d) => !d.includes('READING') && Math.abs(Number(d.split(' ')[0]) - s.atMs) < 600).at(-1));
    await Promise.all(chargers.map((c) => c.close()));
    await app?.stop();
    await peer?.stop();
  });

  const peakA = (from: number, to: number) => Math.max(...samples.filter((s) => s.atMs >= from && s.atMs < to).flatMap((s) => s.currentA));

  it('read the meter through the whole timeline', () => {
    expect(samples.length).toBeGreaterThan(100);
    expect(samples.at(-1)!.atMs).toBe(END_MS);
  });

  // Once a known failure (session 3): the full car's share came back only after idleReleaseMs and
  // its decrease's car response, after the step. A car that reports SuspendedEV now gives its share
  // at once, and holds only the limit its charger has in force.
  it('keeps every phase within the fuse except in the reaction window after the load step', () => {
    expect(peakA(5_000, STEP_AT_MS), 'before the step').toBeLessThanOrEqual(FUSE_A);
    expect(peakA(STEP_AT_MS + REACTION_MS, END_MS), 'after the step').toBeLessThanOrEqual(FUSE_A);
  });

  it('keeps the import under the operator limit once the cars could react', () => {
    const after = samples.filter((s) => s.atMs >= LIMIT_AT_MS + REACTION_MS);
    expect(Math.max(...after.map((s) => s.powerW))).toBeLessThanOrEqual(LIMIT_W);
  });

  it("gives the full car's share to the others: the meter shows the site near its limit before the step", () => {
    expect(fullAtMs, 'the nearly full car filled up').toBeDefined();
    // 30 s after it was full at the latest; before the step the fuse less margin is the bound.
    const from = Math.min(STEP_AT_MS - 5_000, fullAtMs! + 30_000);
    expect(peakA(from, STEP_AT_MS)).toBeGreaterThanOrEqual(0.9 * FUSE_A * (1 - MARGIN));
  });

  it('counts the single-phase car on its one phase: site L2 carries it, within the fuse', () => {
    const window = samples.filter((s) => s.atMs >= 5_000 && s.atMs < STEP_AT_MS);
    const l1 = Math.max(...window.map((s) => s.currentA[0]));
    const l2 = Math.max(...window.map((s) => s.currentA[1]));
    expect(l2).toBeLessThanOrEqual(FUSE_A);
    expect(l2 - l1, 'the single-phase car draws on L2 only').toBeGreaterThanOrEqual(6);
  });
});
