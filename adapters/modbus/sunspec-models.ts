// SunSpec point definitions the EMS uses, as data. Offsets count from the model's ID register
// (offset 0 = ID, 1 = L), as in the official model definitions. `sf` is the offset of the point's
// scale-factor register in the same model; float models have none.
import type { RegisterType } from './register-codec.ts';

export interface SunSpecPoint {
  offset: number;
  type: RegisterType;
  sf?: number;
}
export type SunSpecModelDef = Readonly<Record<string, SunSpecPoint>>;

const u16 = (offset: number, sf?: number): SunSpecPoint => ({ offset, type: 'uint16', sf });
const i16 = (offset: number, sf?: number): SunSpecPoint => ({ offset, type: 'int16', sf });
const f32 = (offset: number): SunSpecPoint => ({ offset, type: 'float32' });

const inverterInt: SunSpecModelDef = {
  A: u16(2, 6), AphA: u16(3, 6), AphB: u16(4, 6), AphC: u16(5, 6),
  PhVphA: u16(10, 13), PhVphB: u16(11, 13), PhVphC: u16(12, 13),
  W: i16(14, 15), WH: { offset: 24, type: 'acc32', sf: 26 }, St: { offset: 38, type: 'uint16' },
};
const inverterFloat: SunSpecModelDef = {
  A: f32(2), AphA: f32(4), AphB: f32(6), AphC: f32(8),
  PhVphA: f32(16), PhVphB: f32(18), PhVphC: f32(20),
  W: f32(22), WH: f32(32), St: { offset: 48, type: 'uint16' },
};
const meterInt: SunSpecModelDef = {
  A: i16(2, 6), AphA: i16(3, 6), AphB: i16(4, 6), AphC: i16(5, 6),
  PhVphA: i16(8, 15), PhVphB: i16(9, 15), PhVphC: i16(10, 15),
  W: i16(18, 22), WphA: i16(19, 22), WphB: i16(20, 22), WphC: i16(21, 22),
  TotWhExp: { offset: 38, type: 'acc32', sf: 54 }, TotWhImp: { offset: 46, type: 'acc32', sf: 54 },
};
const meterFloat: SunSpecModelDef = {
  A: f32(2), AphA: f32(4), AphB: f32(6), AphC: f32(8),
  PhVphA: f32(12), PhVphB: f32(14), PhVphC: f32(16),
  W: f32(28), WphA: f32(30), WphB: f32(32), WphC: f32(34),
  TotWhExp: f32(60), TotWhImp: f32(68),
};

export const SUNSPEC_MODELS: Readonly<Record<number, SunSpecModelDef>> = {
  101: inverterInt, 102: inverterInt, 103: inverterInt,
  111: inverterFloat, 112: inverterFloat, 113: inverterFloat,
  201: meterInt, 202: meterInt, 203: meterInt, 204: meterInt,
  211: meterFloat, 212: meterFloat, 213: meterFloat, 214: meterFloat,
  123: {
    WMaxLimPct: u16(5, 23), WMaxLimPct_RvrtTms: u16(7), WMaxLim_Ena: u16(9),
  },
  124: {
    WChaMax: u16(2, 18), StorCtl_Mod: u16(5), MinRsvPct: u16(7, 21), ChaState: u16(8, 22), ChaSt: u16(11),
    OutWRte: i16(12, 25), InWRte: i16(13, 25), InOutWRte_RvrtTms: u16(15), ChaGriSet: u16(17),
  },
  701: {
    W: i16(10, 116), A: i16(14, 113), LNV: u16(16, 114),
    TotWhInj: { offset: 19, type: 'uint64', sf: 120 }, TotWhAbs: { offset: 23, type: 'uint64', sf: 120 },
    WL1: i16(41, 116), AL1: i16(45, 113), VL1: u16(47, 114),
    WL2: i16(64, 116), AL2: i16(68, 113), VL2: u16(70, 114),
    WL3: i16(87, 116), AL3: i16(91, 113), VL3: u16(93, 114),
  },
  702: { WMaxRtg: u16(2, 45), WChaRteMaxRtg: u16(10, 45), WDisChaRteMaxRtg: u16(11, 45), WMax: u16(26, 45) },
  704: {
    WMaxLimPctEna: u16(14), WMaxLimPct: u16(15, 54), WMaxLimPctRvrtTms: { offset: 18, type: 'uint32' },
    WSetEna: u16(22), WSetMod: u16(23), WSet: { offset: 24, type: 'int32', sf: 55 }, WSetRvrtTms: { offset: 31, type: 'uint32' },
  },
  713: { WHRtg: u16(2, 7), WHAvail: u16(3, 7), SoC: u16(4, 8), SoH: u16(5, 8) },
  802: {
    WChaRteMax: u16(4, 54), WDisChaRteMax: u16(5, 54), SoCRsvMin: u16(10, 56), SoC: u16(11, 56),
    V: u16(34, 59), A: i16(44, 61), W: i16(47, 63),
  },
};

/** Model families in order of preference (integer + SF first, float second), per use. */
export const METER_MODELS = [203, 213, 202, 212, 201, 211, 204, 214] as const;
export const INVERTER_MODELS = [103, 113, 102, 112, 101, 111] as const;
export const SINGLE_PHASE_MODELS = new Set([101, 111, 201, 211]);
