// A seeded depot: rows of 32 A chargers under a 250 A fuse, an office building with a daily curve,
// noise and compressor steps, vans that arrive in the evening and leave in the morning and a few
// day visitors; MeterValues every 10 s, a grid meter every second. For the closed-loop bench.
import { SeededRandom, type PlantCarSpec, type PlantChargerSpec, type PlantCircuit, type PlantScenario, type Triple } from '../../plant/index.ts';

const H = 3_600_000;

export function depotDay(options: { seed: number; chargers: number; hours?: number; rowSize?: number; rootA?: number }): PlantScenario {
  const random = new SeededRandom(options.seed);
  const hours = options.hours ?? 24;
  const rowSize = options.rowSize ?? 10;
  const rootA = options.rootA ?? 250;
  const rows: PlantCircuit[] = [];
  const chargers: PlantChargerSpec[] = [];
  const cars: PlantCarSpec[] = [];
  for (let i = 0; i < options.chargers; i++) {
    const id = `CP${String(i + 1).padStart(3, '0')}`;
    if (i % rowSize === 0) rows.push({ id: `row-${rows.length + 1}`, maxCurrentA: Math.min(rootA, 100), chargerIds: [], children: [] });
    rows.at(-1)!.chargerIds.push(id);
    chargers.push({
      id,
      connectors: 1,
      maxCurrentA: 32,
      phases: 3,
      phaseRotation: (['L1L2L3', 'L2L3L1', 'L3L1L2'] as const)[i % 3]!,
      answerDelayMs: random.int(50, 800),
      applyDelayMs: random.int(200, 3_000),
      meterValuesPeriodMs: 10_000,
      meterValuesDelayMs: random.int(0, 300),
      profiles: 'obeys',
      currentReporting: 'per-phase',
    });
    const sessions: [number, number][] = [];
    // A van overnight (arrives 16:00–20:00, leaves 05:00–08:00 next day: within the run as 0..hours).
    const arrive = (16 + random.next() * 4) * H;
    const leave = (29 + random.next() * 3) * H;
    // Last night's van (plugged in once the chargers are up, in the first two minutes) leaves in the
    // morning; tonight's comes in the evening.
    sessions.push([30_000 + random.next() * 90_000, (5 + random.next() * 3) * H]);
    if (random.chance(0.5)) {
      const dayArrive = (9 + random.next() * 4) * H;
      sessions.push([dayArrive, dayArrive + (1 + random.next() * 3) * H]);
    }
    sessions.push([arrive, leave]);
    sessions.forEach(([from, to], n) => {
      if (from >= hours * H) return;
      const singlePhase = random.chance(0.15);
      cars.push({
        id: `${id}-car${n + 1}`,
        idTag: `${id}T${n + 1}`.slice(0, 20),
        chargerId: id,
        connectorId: 1,
        arriveAtMs: Math.round(from),
        leaveAtMs: Math.round(Math.min(to, hours * H + 1)),
        maxCurrentA: singlePhase ? random.pick([16, 32]) : random.pick([16, 32, 32]),
        phases: singlePhase ? 1 : 3,
        responseDelayMs: random.int(500, 5_000),
        rampUpAps: random.int(5, 30),
        wholeAmps: random.chance(0.5),
        capacityWh: random.pick([40_000, 60_000, 77_000, 100_000]),
        socPct: random.int(10, 60),
        targetSocPct: random.pick([80, 90, 100]),
        taperFromPct: 80,
        drawFactor: random.chance(0.1) ? 0.7 : 1,
        ...(random.chance(0.2) ? { wakeAtMs: Math.round(from + 6 * H), wakeEnergyWh: 1_500 } : {}),
      });
    });
  }
  const steps: { atMs: number; currentA: Triple }[] = [];
  let t = 0;
  for (let n = 0; n < 23 && t < hours * H; n++) {
    t += random.between(0.3, 1.7) * H * (hours / 24);
    const on = n % 2 === 0;
    const a = on ? random.between(15, 45) : 25;
    steps.push({ atMs: Math.round(t), currentA: [a, a * 0.9, a * 1.1].map((x) => Math.round(x)) as Triple });
  }
  return {
    name: `depot day: ${options.chargers} chargers, seed ${options.seed}`,
    seed: options.seed,
    startAtMs: Date.UTC(2026, 5, 2, 0, 0, 0),
    utcOffsetH: 0,
    durationMs: hours * H,
    voltageV: 230,
    circuit: { id: 'site', maxCurrentA: rootA, chargerIds: [], children: rows },
    loads: [{ circuitId: 'site', baseA: [25, 25, 25], steps, dailyPeakA: [40, 35, 30], noiseA: 3, noisePeriodMs: 10_000 }],
    meters: [{ id: 'grid', circuitId: 'site', periodMs: 1_000, delayMs: 100 }],
    chargers,
    cars,
    signals: [],
  };
}
