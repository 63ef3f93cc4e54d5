// The cases issue #9 measured with an independent meter, chargers and cars, as plant scenarios.
// Each is data: the tests replay them, the bench may too, and a changed case can be saved as JSON.
import { carSpec, chargerSpec, flatSite, type PlantScenario } from '../../plant/index.ts';
import type { EmsSettings } from './site-config.ts';

export interface MeasuredCase {
  name: string;
  scenario: PlantScenario;
  ems?: EmsSettings;
}

/** 64 A site, four 32 A chargers with MeterValues every 2–10 s, cars: 1.5 s response, 10 A/s. */
function fourChargerSite(durationMs: number, name: string): PlantScenario {
  const chargers = [0, 1, 2, 3].map((i) => chargerSpec(`CP${i + 1}`, { meterValuesPeriodMs: [2_000, 4_000, 7_000, 10_000][i]! }));
  const cars = chargers.map((c, i) => carSpec(`car${i + 1}`, c.id, { arriveAtMs: 2_000 + i * 700 }));
  return flatSite({ maxCurrentA: 64, chargers, cars, baseA: 10, durationMs, name });
}

export function loadStep(): MeasuredCase {
  const scenario = fourChargerSite(180_000, 'building load steps 10 → 40 A on a 64 A site, 4 chargers, MeterValues 2–10 s');
  scenario.loads[0]!.steps = [{ atMs: 60_000, currentA: [40, 40, 40] }];
  return { name: scenario.name, scenario };
}

export function fourCarsWaiting(): MeasuredCase {
  const scenario = fourChargerSite(150_000, '54 A free and four cars waiting');
  return { name: scenario.name, scenario, ems: { safetyMargin: 0 } };
}

/** 4 cars at ~12 A on a roomy site; a grid limit then leaves room for all four at 8 A. */
export function lowerGridLimit(): MeasuredCase {
  const chargers = [0, 1, 2, 3].map((i) => chargerSpec(`CP${i + 1}`, { meterValuesPeriodMs: 10_000 }));
  const cars = chargers.map((c, i) => carSpec(`car${i + 1}`, c.id, { arriveAtMs: 1_000 + i * 500, maxCurrentA: 16 }));
  const scenario = flatSite({ maxCurrentA: 100, chargers, cars, baseA: 10, durationMs: 180_000, name: 'a lower grid limit leaves room for every car at its minimum' });
  // Building 10 A + 4 cars × 8 A = 42 A per phase = 28,980 W; the limit: 33 kW (with the 5 % margin: 31.35 kW).
  scenario.signals = [{ id: 'dso-1', kind: 'import-limit', fromMs: 60_000, toMs: 170_000, valueW: 33_000 }];
  return { name: scenario.name, scenario };
}

/** Two cars share 40 A; one fills up at about 25 s and its share should go to the other. */
export function fullCar(): MeasuredCase {
  const chargers = [chargerSpec('CP1', { meterValuesPeriodMs: 10_000 }), chargerSpec('CP2', { meterValuesPeriodMs: 10_000 })];
  const cars = [
    carSpec('nearly-full', 'CP1', { capacityWh: 10_000, socPct: 95, targetSocPct: 98, taperFromPct: 100 }),
    carSpec('empty', 'CP2', { arriveAtMs: 500 }),
  ];
  const scenario = flatSite({ maxCurrentA: 40, chargers, cars, baseA: 2, durationMs: 150_000, name: 'a full car (SuspendedEV) gives its share back' });
  return { name: scenario.name, scenario, ems: { safetyMargin: 0 } };
}

/** A single-phase car on a 3-phase charger wired L2L3L1 loads site L2 only; two 3-phase cars share the rest. */
export function singlePhaseCar(): MeasuredCase {
  const chargers = [
    chargerSpec('CP1', { phaseRotation: 'L2L3L1', meterValuesPeriodMs: 10_000 }),
    chargerSpec('CP2', { meterValuesPeriodMs: 10_000 }),
    chargerSpec('CP3', { meterValuesPeriodMs: 10_000 }),
  ];
  const cars = [carSpec('phev', 'CP1', { phases: 1, maxCurrentA: 16 }), carSpec('bev-a', 'CP2', { arriveAtMs: 1_500 }), carSpec('bev-b', 'CP3', { arriveAtMs: 2_500 })];
  const scenario = flatSite({ maxCurrentA: 50, chargers, cars, baseA: 5, durationMs: 150_000, name: 'a single-phase car is counted on its one phase' });
  return { name: scenario.name, scenario, ems: { safetyMargin: 0 } };
}

/** A charger that reports the sum of its phases as one Current.Import (3× its real current). */
export function overReportingCharger(): MeasuredCase {
  const chargers = [chargerSpec('CP1', { currentReporting: 'sum-of-phases', meterValuesPeriodMs: 10_000 }), chargerSpec('CP2', { meterValuesPeriodMs: 10_000 })];
  const cars = [carSpec('car1', 'CP1', { maxCurrentA: 20 }), carSpec('car2', 'CP2', { arriveAtMs: 30_000 })];
  const scenario = flatSite({ maxCurrentA: 63, chargers, cars, baseA: 25, durationMs: 150_000, name: 'a charger reports 3× its real current' });
  return { name: scenario.name, scenario };
}

const METER_FAULTS = {
  negative: { name: 'the grid meter reads −300 A', spec: { fixedA: [-300, -300, -300] as [number, number, number] } },
  scale: { name: "the grid meter's scale factor is off by 100", spec: { scale: 0.01 } },
  /** Stuck on what it read before the cars came (the building's 20 A): plausible on its own, and wrong. */
  stuck: { name: 'the grid meter is stuck at 20 A while the cars start', spec: { fixedA: [20, 20, 20] as [number, number, number] } },
} as const;

/** The grid meter reads −300 A, a scale off by 100, or is stuck, while the site is near its fuse. */
export function implausibleGridMeter(fault: keyof typeof METER_FAULTS): MeasuredCase {
  const chargers = [0, 1, 2].map((i) => chargerSpec(`CP${i + 1}`, { meterValuesPeriodMs: 10_000 }));
  const cars = chargers.map((c, i) => carSpec(`car${i + 1}`, c.id, { arriveAtMs: 1_000 + i * 500 }));
  const scenario = flatSite({ maxCurrentA: 63, chargers, cars, baseA: 20, durationMs: 120_000, name: METER_FAULTS[fault].name });
  scenario.meters[0] = { ...scenario.meters[0]!, ...METER_FAULTS[fault].spec };
  return { name: scenario.name, scenario };
}

/** A full 63 A row; a new car plugs in and the others must slow down before it speeds up. */
export function handover(): MeasuredCase {
  const chargers = [0, 1, 2, 3].map((i) => chargerSpec(`CP${i + 1}`, { meterValuesPeriodMs: 10_000, applyDelayMs: 200 }));
  const cars = [
    carSpec('car1', 'CP1', { responseDelayMs: 4_500, rampUpAps: 20 }),
    carSpec('car2', 'CP2', { arriveAtMs: 500, responseDelayMs: 4_500, rampUpAps: 20 }),
    carSpec('newcomer', 'CP3', { arriveAtMs: 60_000, responseDelayMs: 500, rampUpAps: 20 }),
    carSpec('late', 'CP4', { arriveAtMs: 100_000, responseDelayMs: 500, rampUpAps: 20 }),
  ];
  const scenario = flatSite({ maxCurrentA: 63, chargers, cars, baseA: 0, durationMs: 160_000, name: 'handover on a full 63 A row: slow cars slow down before fast cars speed up' });
  return { name: scenario.name, scenario };
}

/** A charger drops off the network for a minute mid-session; its car keeps charging. */
export function chargerDropOut(): MeasuredCase {
  const chargers = [0, 1, 2].map((i) => chargerSpec(`CP${i + 1}`, { meterValuesPeriodMs: 10_000, ...(i === 0 ? { offline: [{ fromMs: 40_000, toMs: 100_000 }] } : {}) }));
  const cars = chargers.map((c, i) => carSpec(`car${i + 1}`, c.id, { arriveAtMs: 1_000 + i * 500 }));
  const scenario = flatSite({ maxCurrentA: 63, chargers, cars, baseA: 10, durationMs: 160_000, name: 'a charger drops out mid-session' });
  return { name: scenario.name, scenario };
}

/** A charger without smart charging draws 16 A; cars arrive next to it one by one. */
export function refusingCharger(): MeasuredCase {
  const chargers = [chargerSpec('CP0', { profiles: 'refuses', maxCurrentA: 16, meterValuesPeriodMs: 10_000 }), ...[1, 2, 3].map((i) => chargerSpec(`CP${i}`, { meterValuesPeriodMs: 10_000 }))];
  const cars = [carSpec('dumb', 'CP0', { maxCurrentA: 16 }), ...[1, 2, 3].map((i) => carSpec(`car${i}`, `CP${i}`, { arriveAtMs: 20_000 * i }))];
  const scenario = flatSite({ maxCurrentA: 63, chargers, cars, baseA: 10, durationMs: 150_000, name: 'cars arrive next to a charger that refuses profiles' });
  return { name: scenario.name, scenario };
}
