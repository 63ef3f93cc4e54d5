import { describe, expect, it } from 'vitest';
import { demoStepMs, startOfDemoMs } from '../../src/demo/demo-start.ts';

describe('ems demo --start and --speed', () => {
  it('starts the demo clock at the given local time today in the site time zone', () => {
    const now = Date.parse('2026-06-01T06:30:00Z'); // 08:30 in Berlin (summer time)
    expect(new Date(startOfDemoMs('11:00', 'Europe/Berlin', now)).toISOString()).toBe('2026-06-01T09:00:00.000Z');
    expect(new Date(startOfDemoMs('7:15', 'UTC', now)).toISOString()).toBe('2026-06-01T07:15:00.000Z');
  });

  it('refuses a time that is not HH:MM with the reason', () => {
    expect(() => startOfDemoMs('25:00', 'UTC', 0)).toThrow(/--start 25:00: use HH:MM/);
    expect(() => startOfDemoMs('noon', 'UTC', 0)).toThrow(/use HH:MM/);
  });

  it('steps the simulated site about once a demo second, within bounds', () => {
    expect(demoStepMs(1)).toBe(1000);
    expect(demoStepMs(10)).toBe(100);
    expect(demoStepMs(60)).toBe(20);
    expect(demoStepMs(3600)).toBe(20);
  });
});

describe('the EMS the demo runs', () => {
  it('allows a cut as long to reach a car as the demo chargers and cars take (apply, follow, a plant step each)', async () => {
    const { demoRuntimeConfig } = await import('../../src/demo/run-demo.ts');
    const { loadConfigFile } = await import('../../src/config-file.ts');
    const { packagePath } = await import('../../src/package-root.ts');
    const { DEMO_APPLY_DELAY_MS } = await import('../../src/demo/demo-plant.ts');
    const { DEMO_CAR_RESPONSE_MS } = await import('../../src/demo/car.ts');
    const file = loadConfigFile(packagePath('config', 'examples', 'demo.yaml'));
    const slowestS = (DEMO_APPLY_DELAY_MS.max + DEMO_CAR_RESPONSE_MS.max + 2 * demoStepMs(1)) / 1000;
    const atSpeed = (speed: number) => demoRuntimeConfig(file, { count: 8, speed }).control.carResponseS;
    expect(atSpeed(1)).toBeGreaterThanOrEqual(slowestS);
    expect(atSpeed(10)).toBeGreaterThanOrEqual(slowestS + 10);
    expect(atSpeed(60)).toBe(60);
  });
});
