// The demo's cars: plausible battery, SoC, onboard charger and stay for a configured card, as plant
// cars (plant/car.ts is their physics: response delay, ramp, taper, full).
import { carSpec, type PlantCarSpec } from '../../plant/index.ts';

let carCounter = 0;

/** How long a demo car takes to follow a new pilot limit, ms (plant.md: many 1–2 s, some longer). */
export const DEMO_CAR_RESPONSE_MS = { min: 1_000, max: 3_500 } as const;

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
    responseDelayMs: Math.round(DEMO_CAR_RESPONSE_MS.min + random() * (DEMO_CAR_RESPONSE_MS.max - DEMO_CAR_RESPONSE_MS.min)),
    rampUpAps: Math.round(5 + random() * 15),
  });
}
