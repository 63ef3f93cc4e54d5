// The demo on the site plant: its chargers are plant chargers behind real OCPP clients on loopback.
// What the EMS decides reaches the plant's pilots, and what the plant's cars draw reaches the EMS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config-file.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { silentLogger } from '../../src/log.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { systemClock } from '../../src/clock.ts';
import { eventually } from '../devices/context.ts';

describe('the demo on the site plant', () => {
  let demo: DemoSite | undefined;
  let storagePath = '';
  afterAll(async () => {
    await demo?.stop();
  });

  it("caps the EMS decides become the plant chargers' pilots, and the cars' draw comes back in MeterValues", async () => {
    const base = loadConfigFile(new URL('../../config/examples/demo.yaml', import.meta.url).pathname);
    const config = {
      ...base,
      ocpp: { ...base.ocpp, host: '127.0.0.1', port: 0 },
      http: { ...base.http, host: '127.0.0.1', port: 0 },
      storage: { ...base.storage, path: (storagePath = join(mkdtempSync(join(tmpdir(), 'demo-plant-')), 'ems.sqlite')) },
      mqtt: undefined,
    };
    demo = await startDemoSite({ config, log: silentLogger, clock: new ScaledClock(4), initialOccupancy: 1, seed: 5, stepMs: 100 });
    const site = demo;
    const state = site.app.ctx.state;
    await eventually(() => [...state.connectors.values()].filter((c) => c.session).length >= 4, 20_000, 'cars plugged in with sessions');
    // A connector with a running transaction: the plant's pilot is the cap the EMS last decided
    // (floored to 0.1 A; the charger applies it after its own delay), and the EMS's draw for it is
    // what the plant's car draws (from MeterValues, periodic or on a 1 A change). Seen for every
    // connector charging (at least four), each at a moment of its own: caps change every cycle and
    // a charger applies them after its delay, so on a loaded machine all rarely agree at one instant.
    const agreed = new Set<string>();
    await eventually(
      () => {
        const caps = new Map(state.lastDecision?.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]) ?? []);
        const charging: string[] = [];
        for (const [id, charger] of site.plant.chargers) {
          for (const c of charger.connectors) {
            if (c.transactionId === undefined || !c.car) continue;
            charging.push(`${id}/${c.connectorId}`);
            const cap = caps.get(`${id}/${c.connectorId}`);
            const ems = state.connector(id, c.connectorId);
            if (cap === undefined || !ems?.session) continue;
            if (Math.abs(c.pilotA - Math.floor(cap * 10) / 10) > 0.11) continue;
            if (Math.abs(Math.max(...ems.drawA) - c.car.drawA) > 1) continue;
            agreed.add(`${id}/${c.connectorId}`);
          }
        }
        // Every connector charging now agreed at some moment, and at least four did.
        return agreed.size >= 4 && charging.every((key) => agreed.has(key));
      },
      40_000,
      'plant pilots at the EMS caps and the EMS seeing the plant draws, on every charging connector',
    );
    // The site's true current (the plant's) stays within the 80 A fuse on every phase.
    const root = site.plant.truth().nodeA.get(site.plant.scenario.circuit.id)!;
    for (const a of root) expect(a).toBeLessThanOrEqual(80);
  }, 90_000);

  it('stops the running transactions at the register reading when it closes, so no billed session ends on a stop reading of 0', async () => {
    const running = [...demo!.app.ctx.state.connectors.values()].filter((c) => c.session).length;
    expect(running).toBeGreaterThan(0);
    await demo!.stop();
    demo = undefined;
    const store = openStorage(storagePath, systemClock);
    try {
      const stopped = store.transactions.list({ limit: 100 }).filter((t) => t.meterStopWh !== undefined);
      expect(stopped.length).toBeGreaterThanOrEqual(running);
      for (const t of stopped) expect(t.meterStopWh!, `transaction ${t.transactionId}`).toBeGreaterThanOrEqual(t.meterStartWh);
    } finally {
      store.close();
    }
  }, 60_000);
});
