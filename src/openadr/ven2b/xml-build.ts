// Builders for every message the 2.0b VEN sends. Pure string assembly in the element order the
// official oadr_20b.xsd requires (tests validate each one with xmllint against it).
import { formatDateTime, formatIsoDuration } from '../iso-duration.ts';

const NAMESPACES = [
  'xmlns:oadr="http://openadr.org/oadr-2.0b/2012/07"',
  'xmlns:ei="http://docs.oasis-open.org/ns/energyinterop/201110"',
  'xmlns:pyld="http://docs.oasis-open.org/ns/energyinterop/201110/payloads"',
  'xmlns:emix="http://docs.oasis-open.org/ns/emix/2011/06"',
  'xmlns:xcal="urn:ietf:params:xml:ns:icalendar-2.0"',
  'xmlns:strm="urn:ietf:params:xml:ns:icalendar-2.0:stream"',
  'xmlns:power="http://docs.oasis-open.org/ns/emix/2011/06/power"',
  'xmlns:scale="http://docs.oasis-open.org/ns/emix/2011/06/siscale"',
].join(' ');

export function escapeXml(text: string | number): string {
  return String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const el = (name: string, value: string | number) => `<${name}>${escapeXml(value)}</${name}>`;
const opt = (name: string, value: string | number | undefined) => (value === undefined ? '' : el(name, value));

function payload(message: string, body: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<oadr:oadrPayload ${NAMESPACES}><oadr:oadrSignedObject>` +
    `<oadr:${message} ei:schemaVersion="2.0b">${body}</oadr:${message}>` +
    `</oadr:oadrSignedObject></oadr:oadrPayload>`
  );
}

export function eiResponse(code: number, requestId: string, description?: string): string {
  return `<ei:eiResponse>${el('ei:responseCode', code)}${opt('ei:responseDescription', description)}${el('pyld:requestID', requestId)}</ei:eiResponse>`;
}

export function queryRegistration(requestId: string): string {
  return payload('oadrQueryRegistration', el('pyld:requestID', requestId));
}

export function createPartyRegistration(p: { requestId: string; registrationId?: string; venId?: string; venName: string }): string {
  return payload(
    'oadrCreatePartyRegistration',
    el('pyld:requestID', p.requestId) +
      opt('ei:registrationID', p.registrationId) +
      opt('ei:venID', p.venId) +
      el('oadr:oadrProfileName', '2.0b') +
      el('oadr:oadrTransportName', 'simpleHttp') +
      el('oadr:oadrReportOnly', 'false') +
      el('oadr:oadrXmlSignature', 'false') +
      el('oadr:oadrVenName', p.venName) +
      el('oadr:oadrHttpPullModel', 'true'),
  );
}

export function cancelPartyRegistration(p: { requestId: string; registrationId: string; venId: string }): string {
  return payload('oadrCancelPartyRegistration', el('pyld:requestID', p.requestId) + el('ei:registrationID', p.registrationId) + el('ei:venID', p.venId));
}

export function canceledPartyRegistration(p: { code: number; requestId: string; registrationId?: string; venId?: string }): string {
  return payload('oadrCanceledPartyRegistration', eiResponse(p.code, p.requestId) + opt('ei:registrationID', p.registrationId) + opt('ei:venID', p.venId));
}

export function response(p: { code: number; requestId: string; venId?: string; description?: string }): string {
  return payload('oadrResponse', eiResponse(p.code, p.requestId, p.description) + opt('ei:venID', p.venId));
}

export function requestEvent(p: { requestId: string; venId: string }): string {
  return payload('oadrRequestEvent', `<pyld:eiRequestEvent>${el('pyld:requestID', p.requestId)}${el('ei:venID', p.venId)}</pyld:eiRequestEvent>`);
}

export interface EventReply {
  code: number;
  /** requestID of the oadrDistributeEvent being answered. */
  requestId: string;
  eventId: string;
  modificationNumber: number;
  opt: 'optIn' | 'optOut';
  description?: string;
}

export function createdEvent(p: { venId: string; code?: number; description?: string; replies: EventReply[] }): string {
  const replies = p.replies
    .map(
      (r) =>
        `<ei:eventResponse>${el('ei:responseCode', r.code)}${opt('ei:responseDescription', r.description)}${el('pyld:requestID', r.requestId)}` +
        `<ei:qualifiedEventID>${el('ei:eventID', r.eventId)}${el('ei:modificationNumber', r.modificationNumber)}</ei:qualifiedEventID>` +
        `${el('ei:optType', r.opt)}</ei:eventResponse>`,
    )
    .join('');
  return payload(
    'oadrCreatedEvent',
    `<pyld:eiCreatedEvent>${eiResponse(p.code ?? 200, '', p.description)}` +
      (replies ? `<ei:eventResponses>${replies}</ei:eventResponses>` : '') +
      `${el('ei:venID', p.venId)}</pyld:eiCreatedEvent>`,
  );
}

export function poll(venId: string): string {
  return payload('oadrPoll', el('ei:venID', venId));
}

const REAL_POWER =
  '<power:powerReal><power:itemDescription>RealPower</power:itemDescription><power:itemUnits>W</power:itemUnits>' +
  '<scale:siScaleCode>none</scale:siScaleCode><power:powerAttributes><power:hertz>50</power:hertz>' +
  '<power:voltage>230</power:voltage><power:ac>true</power:ac></power:powerAttributes></power:powerReal>';

/** The metadata report the VEN offers: site real power (TELEMETRY_USAGE). */
export const TELEMETRY = { reportSpecifierId: 'site-telemetry', rId: 'site-import-power' } as const;

export function registerReport(p: { requestId: string; venId: string; createdAtMs: number; minPeriodMs: number; maxPeriodMs: number }): string {
  const description =
    `<oadr:oadrReportDescription>${el('ei:rID', TELEMETRY.rId)}` +
    `<ei:reportDataSource>${el('ei:resourceID', 'site')}</ei:reportDataSource>` +
    `${el('ei:reportType', 'usage')}${REAL_POWER}${el('ei:readingType', 'Direct Read')}` +
    `<oadr:oadrSamplingRate>${el('oadr:oadrMinPeriod', formatIsoDuration(p.minPeriodMs))}${el('oadr:oadrMaxPeriod', formatIsoDuration(p.maxPeriodMs))}` +
    `${el('oadr:oadrOnChange', 'false')}</oadr:oadrSamplingRate></oadr:oadrReportDescription>`;
  const report =
    `<oadr:oadrReport><xcal:duration>${el('xcal:duration', 'PT0S')}</xcal:duration>${description}` +
    `${el('ei:reportRequestID', '0')}${el('ei:reportSpecifierID', TELEMETRY.reportSpecifierId)}` +
    `${el('ei:reportName', 'METADATA_TELEMETRY_USAGE')}${el('ei:createdDateTime', formatDateTime(p.createdAtMs))}</oadr:oadrReport>`;
  return payload('oadrRegisterReport', el('pyld:requestID', p.requestId) + report + el('ei:venID', p.venId));
}

export function registeredReport(p: { code: number; requestId: string; venId: string }): string {
  return payload('oadrRegisteredReport', eiResponse(p.code, p.requestId) + el('ei:venID', p.venId));
}

const pending = (ids: readonly string[]) => `<oadr:oadrPendingReports>${ids.map((id) => el('ei:reportRequestID', id)).join('')}</oadr:oadrPendingReports>`;

export function createdReport(p: { code: number; requestId: string; venId: string; pendingReportRequestIds: readonly string[] }): string {
  return payload('oadrCreatedReport', eiResponse(p.code, p.requestId) + pending(p.pendingReportRequestIds) + el('ei:venID', p.venId));
}

export function canceledReport(p: { code: number; requestId: string; venId: string; pendingReportRequestIds: readonly string[] }): string {
  return payload('oadrCanceledReport', eiResponse(p.code, p.requestId) + pending(p.pendingReportRequestIds) + el('ei:venID', p.venId));
}

export function updatedReport(p: { code: number; requestId: string; venId: string }): string {
  return payload('oadrUpdatedReport', eiResponse(p.code, p.requestId) + el('ei:venID', p.venId));
}

export interface TelemetrySample {
  startMs: number;
  durationMs: number;
  powerW: number;
}

export function updateReport(p: {
  requestId: string;
  venId: string;
  reportRequestId: string;
  reportSpecifierId: string;
  createdAtMs: number;
  samples: readonly TelemetrySample[];
}): string {
  const startMs = p.samples[0]?.startMs ?? p.createdAtMs;
  const totalMs = p.samples.reduce((sum, s) => sum + s.durationMs, 0);
  const intervals = p.samples
    .map(
      (s, i) =>
        `<ei:interval><xcal:dtstart>${el('xcal:date-time', formatDateTime(s.startMs))}</xcal:dtstart>` +
        `<xcal:duration>${el('xcal:duration', formatIsoDuration(s.durationMs))}</xcal:duration>` +
        `<xcal:uid>${el('xcal:text', i)}</xcal:uid>` +
        `<oadr:oadrReportPayload>${el('ei:rID', TELEMETRY.rId)}<ei:payloadFloat>${el('ei:value', Math.round(s.powerW))}</ei:payloadFloat>` +
        `${el('oadr:oadrDataQuality', 'Quality Good - Non Specific')}</oadr:oadrReportPayload></ei:interval>`,
    )
    .join('');
  const report =
    `<oadr:oadrReport><xcal:dtstart>${el('xcal:date-time', formatDateTime(startMs))}</xcal:dtstart>` +
    `<xcal:duration>${el('xcal:duration', formatIsoDuration(totalMs))}</xcal:duration>` +
    (intervals ? `<strm:intervals>${intervals}</strm:intervals>` : '') +
    `${el('ei:reportRequestID', p.reportRequestId)}${el('ei:reportSpecifierID', p.reportSpecifierId)}` +
    `${el('ei:reportName', 'TELEMETRY_USAGE')}${el('ei:createdDateTime', formatDateTime(p.createdAtMs))}</oadr:oadrReport>`;
  return payload('oadrUpdateReport', el('pyld:requestID', p.requestId) + report + el('ei:venID', p.venId));
}
