/** A simulated car: how much it wants, how fast it may charge, when it leaves. */
export interface Car {
  idTag: string;
  name: string;
  capacityWh: number;
  socPct: number;
  targetSocPct: number;
  /** A per phase the car's onboard charger accepts. */
  maxCurrentA: number;
  phases: 1 | 3;
  arrivalAtMs: number;
  departureAtMs: number;
}

/** Current the car takes under a limit: 0 below 6 A, tapering above 80 % SoC, none when full. */
export function carDrawA(car: Car, limitA: number): number {
  if (car.socPct >= car.targetSocPct || limitA < 6) return 0;
  const taper = car.socPct <= 80 ? 1 : Math.max(0.15, (100 - car.socPct) / 20);
  return Math.min(limitA, car.maxCurrentA * taper);
}

/** Mulberry32: a small seeded generator so a demo run can be replayed. */
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

/** A car for one of the configured idTags, with plausible battery, SoC and stay. */
export function randomCar(random: () => number, idTag: { idTag: string; name?: string }, arrivalAtMs: number): Car {
  const capacityWh = [40_000, 58_000, 77_000, 100_000][Math.floor(random() * 4)]!;
  const singlePhase = random() < 0.15;
  const stayH = 1 + random() * 7;
  return {
    idTag: idTag.idTag,
    name: idTag.name ?? idTag.idTag,
    capacityWh,
    socPct: 10 + Math.floor(random() * 50),
    targetSocPct: 90 + Math.floor(random() * 11),
    maxCurrentA: singlePhase ? 32 : [16, 32, 32][Math.floor(random() * 3)]!,
    phases: singlePhase ? 1 : 3,
    arrivalAtMs,
    departureAtMs: arrivalAtMs + stayH * 3_600_000,
  };
}
