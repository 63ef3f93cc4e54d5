export { createTariffService, type LiveKpis, type MonthlyPeakSource, type PriceNow, type TariffService, type TariffServiceOptions } from './tariff-service.ts';
export type { SessionBill } from './session-billing.ts';
export { Tariff, type TariffView } from './tariff.ts';
export { LocalTimeZone } from './local-time.ts';
export { parsePricePayload, PricePayloadError } from './price-payload.ts';
