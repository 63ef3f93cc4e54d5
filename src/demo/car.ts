// The demo's cars: plausible battery, SoC, onboard charger and stay for a configured card, as plant
// cars (plant/car.ts is their physics: response delay, ramp, taper, full).
import { carSpec, type PlantCarSpec } from '../../plant/index.ts';

/** Mulberry32: a small seeded generator so a demo run (and a generated scenario) can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let carCounter = 0;

/** A car for one of the configured idTags arriving at plant time `arriveAtMs` on a connector. */
export function randomCar(random: () => number, idTag: { idTag: string }, chargerId: string, connectorId: number, arriveAtMs: number): PlantCarSpec {
  const capacityWh = [40_000, 58_000, 77_000, 100_000][Math.floor(random() * 4)]!;
  const singlePhase = random() < 0.15;
  const stayH = 1 + random() * 7;
  return carSpec(`car-${++carCounter}`, chargerId, {
    idTag: idTag.idTag,
    connectorId,
    arriveAtMs,
    leaveAtMs: Math.round(arriveAtMs + stayH * 3_600_000),
    capacityWh,
    socPct: 10 + Math.floor(random() * 50),
    targetSocPct: 90 + Math.floor(random() * 11),
    maxCurrentA: singlePhase ? 32 : [16, 32, 32][Math.floor(random() * 3)]!,
    phases: singlePhase ? 1 : 3,
    responseDelayMs: Math.round(1_000 + random() * 2_500),
    rampUpAps: Math.round(5 + random() * 15),
  });
}
