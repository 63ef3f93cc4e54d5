// Parses and validates (structure, types, enumerations) every message a 2.0b VTN may send the VEN.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { OpenAdrProtocolError } from '../errors.ts';
import { parseDateMs, parseIsoDurationMs } from '../iso-duration.ts';

const ARRAY_TAGS = new Set(['oadrEvent', 'eiEventSignal', 'interval', 'oadrReportRequest', 'specifierPayload', 'oadrProfile', 'eventResponse']);

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name, jpath) => ARRAY_TAGS.has(name) || String(jpath).endsWith('oadrCancelReport.reportRequestID'),
});

/** A protocol error that also knows which message the VTN sent, so the VEN can answer in kind. */
export class Oadr2bInvalidMessageError extends OpenAdrProtocolError {
  constructor(
    message: string,
    readonly messageType: string | undefined,
    readonly requestId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const str = z.union([z.string(), z.number()]).transform(String);
const nonEmpty = str.pipe(z.string().min(1));
const code = str.pipe(z.string().regex(/^\d{3}$/, 'responseCode must be 3 digits')).transform(Number);
const durationMs = z.object({ duration: str }).transform((d, ctx) => {
  try {
    return parseIsoDurationMs(d.duration);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
const dateTimeMs = z.object({ 'date-time': str }).transform((d, ctx) => {
  try {
    return parseDateMs(d['date-time']);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
const float = str.pipe(z.string().regex(/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?INF$/, 'not a float')).transform(Number);
const eiResponse = z.object({ responseCode: code, responseDescription: str.optional(), requestID: str.default('') });

const SI_SCALE: Record<string, number> = { p: 1e-12, n: 1e-9, micro: 1e-6, m: 1e-3, c: 1e-2, d: 1e-1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, none: 1 };
const itemBase = z
  .object({ itemDescription: str.optional(), itemUnits: str.optional(), siScaleCode: str.optional() })
  .transform((i) => ({ description: i.itemDescription, units: i.itemUnits, scale: SI_SCALE[i.siScaleCode ?? 'none'] ?? 1 }));

const ITEM_BASES = ['powerReal', 'currencyPerKWh', 'currencyPerKW', 'currency', 'customUnit', 'energyReal', 'current'] as const;

const signalSchema = z
  .looseObject({
    intervals: z.object({
      interval: z
        .array(
          z.object({
            duration: durationMs,
            uid: z.object({ text: str }).optional(),
            signalPayload: z.object({ payloadFloat: z.object({ value: float }) }),
          }),
        )
        .min(1),
    }),
    signalName: nonEmpty,
    signalType: z.enum([
      'delta',
      'level',
      'multiplier',
      'price',
      'priceMultiplier',
      'priceRelative',
      'setpoint',
      'x-loadControlCapacity',
      'x-loadControlLevelOffset',
      'x-loadControlPercentOffset',
      'x-loadControlSetpoint',
    ]),
    signalID: nonEmpty,
  })
  .transform((s) => {
    const raw = s as Record<string, unknown>;
    const key = ITEM_BASES.find((k) => raw[k] !== undefined);
    const item = key ? itemBase.safeParse(raw[key]) : undefined;
    return {
      signalName: s.signalName,
      signalType: s.signalType,
      signalId: s.signalID,
      itemKind: key,
      item: item?.success ? item.data : undefined,
      intervals: s.intervals.interval.map((i) => ({ durationMs: i.duration, uid: i.uid?.text, value: i.signalPayload.payloadFloat.value })),
    };
  });

const eventSchema = z.object({
  eiEvent: z.object({
    eventDescriptor: z.object({
      eventID: nonEmpty,
      modificationNumber: str.pipe(z.string().regex(/^\d+$/, 'modificationNumber must be an unsigned integer')).transform(Number),
      priority: str.pipe(z.string().regex(/^\d+$/)).transform(Number).optional(),
      eiMarketContext: z.object({ marketContext: nonEmpty }),
      createdDateTime: str,
      eventStatus: z.enum(['none', 'far', 'near', 'active', 'completed', 'cancelled']),
      testEvent: str.optional(),
    }),
    eiActivePeriod: z.object({
      properties: z.object({
        dtstart: dateTimeMs,
        duration: durationMs,
        tolerance: z.object({ tolerate: z.object({ startafter: str.optional() }) }).optional(),
        'x-eiNotification': durationMs.optional(),
        'x-eiRampUp': durationMs.optional(),
        'x-eiRecovery': durationMs.optional(),
      }),
    }),
    eiEventSignals: z.object({ eiEventSignal: z.array(signalSchema).min(1) }),
    eiTarget: z.unknown().optional(),
  }),
  oadrResponseRequired: z.enum(['always', 'never']),
});

export type Oadr2bSignal = z.infer<typeof signalSchema>;

export interface Oadr2bEvent {
  eventId: string;
  modificationNumber: number;
  priority?: number;
  marketContext: string;
  status: 'none' | 'far' | 'near' | 'active' | 'completed' | 'cancelled';
  testEvent: boolean;
  startMs: number;
  /** 0 = open-ended. */
  durationMs: number;
  startAfterMs: number;
  rampUpMs: number;
  responseRequired: boolean;
  signals: Oadr2bSignal[];
}

export interface ReportRequest {
  reportRequestId: string;
  reportSpecifierId: string;
  granularityMs: number;
  reportBackDurationMs: number;
  rIds: string[];
}

const reportRequestSchema = z
  .object({
    reportRequestID: nonEmpty,
    reportSpecifier: z.object({
      reportSpecifierID: nonEmpty,
      granularity: durationMs,
      reportBackDuration: durationMs,
      specifierPayload: z.array(z.looseObject({ rID: nonEmpty })).min(1),
    }),
  })
  .transform(
    (r): ReportRequest => ({
      reportRequestId: r.reportRequestID,
      reportSpecifierId: r.reportSpecifier.reportSpecifierID,
      granularityMs: r.reportSpecifier.granularity,
      reportBackDurationMs: r.reportSpecifier.reportBackDuration,
      rIds: r.reportSpecifier.specifierPayload.map((p) => p.rID),
    }),
  );

const toEvent = (e: z.infer<typeof eventSchema>): Oadr2bEvent => {
  const d = e.eiEvent.eventDescriptor;
  const p = e.eiEvent.eiActivePeriod.properties;
  let startAfterMs = 0;
  const startafter = p.tolerance?.tolerate.startafter;
  if (startafter) startAfterMs = Math.max(0, parseIsoDurationMs(startafter));
  return {
    eventId: d.eventID,
    modificationNumber: d.modificationNumber,
    priority: d.priority,
    marketContext: d.eiMarketContext.marketContext,
    status: d.eventStatus,
    testEvent: d.testEvent !== undefined && d.testEvent.trim().toLowerCase() !== 'false',
    startMs: p.dtstart,
    durationMs: p.duration,
    startAfterMs,
    rampUpMs: p['x-eiRampUp'] ?? 0,
    responseRequired: e.oadrResponseRequired === 'always',
    signals: e.eiEvent.eiEventSignals.eiEventSignal,
  };
};

const optionalVenId = str.optional();

const MESSAGES = {
  oadrCreatedPartyRegistration: z
    .object({
      eiResponse,
      registrationID: str.optional(),
      venID: optionalVenId,
      vtnID: str,
      oadrProfiles: z.unknown(),
      oadrRequestedOadrPollFreq: durationMs.optional(),
    })
    .transform((m) => ({
      type: 'oadrCreatedPartyRegistration' as const,
      response: m.eiResponse,
      registrationId: m.registrationID || undefined,
      venId: m.venID || undefined,
      vtnId: m.vtnID,
      pollFreqMs: m.oadrRequestedOadrPollFreq,
    })),
  oadrDistributeEvent: z
    .object({ eiResponse: eiResponse.optional(), requestID: str, vtnID: str, oadrEvent: z.array(eventSchema).default([]) })
    .transform((m) => ({ type: 'oadrDistributeEvent' as const, requestId: m.requestID, vtnId: m.vtnID, events: m.oadrEvent.map(toEvent) })),
  oadrResponse: z
    .object({ eiResponse, venID: optionalVenId })
    .transform((m) => ({ type: 'oadrResponse' as const, response: m.eiResponse, venId: m.venID })),
  oadrRegisteredReport: z
    .object({ eiResponse, oadrReportRequest: z.array(reportRequestSchema).default([]), venID: optionalVenId })
    .transform((m) => ({ type: 'oadrRegisteredReport' as const, response: m.eiResponse, reportRequests: m.oadrReportRequest })),
  oadrCreateReport: z
    .object({ requestID: str, oadrReportRequest: z.array(reportRequestSchema).min(1), venID: optionalVenId })
    .transform((m) => ({ type: 'oadrCreateReport' as const, requestId: m.requestID, reportRequests: m.oadrReportRequest })),
  oadrCancelReport: z
    .object({ requestID: str, reportRequestID: z.array(str).min(1), reportToFollow: str, venID: optionalVenId })
    .transform((m) => ({ type: 'oadrCancelReport' as const, requestId: m.requestID, reportRequestIds: m.reportRequestID })),
  oadrRegisterReport: z
    .looseObject({ requestID: str, venID: optionalVenId })
    .transform((m) => ({ type: 'oadrRegisterReport' as const, requestId: m.requestID })),
  oadrUpdateReport: z
    .looseObject({ requestID: str, venID: optionalVenId })
    .transform((m) => ({ type: 'oadrUpdateReport' as const, requestId: m.requestID })),
  oadrUpdatedReport: z
    .object({ eiResponse, oadrCancelReport: z.unknown().optional(), venID: optionalVenId })
    .transform((m) => ({ type: 'oadrUpdatedReport' as const, response: m.eiResponse })),
  oadrCreatedReport: z
    .looseObject({ eiResponse })
    .transform((m) => ({ type: 'oadrCreatedReport' as const, response: m.eiResponse })),
  oadrCancelPartyRegistration: z
    .object({ requestID: str, registrationID: str, venID: optionalVenId })
    .transform((m) => ({ type: 'oadrCancelPartyRegistration' as const, requestId: m.requestID, registrationId: m.registrationID })),
  oadrCanceledPartyRegistration: z
    .object({ eiResponse, registrationID: str.optional(), venID: optionalVenId })
    .transform((m) => ({ type: 'oadrCanceledPartyRegistration' as const, response: m.eiResponse })),
  oadrRequestReregistration: z
    .object({ venID: str })
    .transform((m) => ({ type: 'oadrRequestReregistration' as const, venId: m.venID })),
} as const;

type Messages = typeof MESSAGES;
export type IncomingMessage = { [K in keyof Messages]: z.output<Messages[K]> }[keyof Messages];
export type IncomingOf<T extends IncomingMessage['type']> = Extract<IncomingMessage, { type: T }>;

/** XML text → one validated message; anything else throws Oadr2bInvalidMessageError. */
export function parseMessage(xml: string): IncomingMessage {
  // OpenADR never uses a DTD; refusing one rules out entity-expansion attacks.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Oadr2bInvalidMessageError('XML with a DOCTYPE or ENTITY declaration is refused', undefined, '');
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true) {
    throw new Oadr2bInvalidMessageError(`malformed XML: ${wellFormed.err.msg} (line ${wellFormed.err.line})`, undefined, '');
  }
  let tree: Record<string, any>;
  try {
    tree = parser.parse(xml) as Record<string, any>;
  } catch (error) {
    throw new Oadr2bInvalidMessageError('malformed XML', undefined, '', { cause: error });
  }
  const signed = tree.oadrPayload?.oadrSignedObject;
  if (!signed || typeof signed !== 'object') throw new Oadr2bInvalidMessageError('not an oadrPayload/oadrSignedObject', undefined, '');
  const names = Object.keys(signed);
  if (names.length !== 1) throw new Oadr2bInvalidMessageError(`oadrSignedObject must hold one message, found ${names.length}`, undefined, '');
  const type = names[0];
  const body = signed[type];
  const requestId = typeof body?.requestID === 'string' ? body.requestID : typeof body?.eiResponse?.requestID === 'string' ? body.eiResponse.requestID : '';
  const schema = (MESSAGES as Record<string, z.ZodType<IncomingMessage>>)[type];
  if (!schema) throw new Oadr2bInvalidMessageError(`unexpected message ${type}`, type, requestId);
  const result = schema.safeParse(body === '' ? {} : body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Oadr2bInvalidMessageError(`invalid ${type}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, type, requestId, { cause: result.error });
  }
  return result.data;
}
