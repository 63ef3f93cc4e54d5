import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/openadr/ven2b/xml-parse.ts';
import { distributeEvent, oadrResponse } from '../fixtures/openadr/vtn2b-messages.ts';

const T = Date.parse('2026-11-24T16:00:00Z');
const xml = distributeEvent({
  requestId: 'd-9',
  vtnId: 'VTN',
  venId: 'V',
  events: [{ eventId: 'e1', modificationNumber: 2, startMs: T, durationS: 1800, signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 1800, value: 2 }] }] }],
});

describe('2.0b message parsing', () => {
  it('matches on element names, whatever prefixes or default namespaces the VTN uses', () => {
    const renamed = xml
      .replace(/oadr:/g, 'o2b:')
      .replace('xmlns:oadr=', 'xmlns:o2b=')
      .replace('<pyld:requestID>d-9</pyld:requestID>', '<requestID xmlns="http://docs.oasis-open.org/ns/energyinterop/201110/payloads">d-9</requestID>');
    const parsed = parseMessage(renamed);
    expect(parsed).toMatchObject({ type: 'oadrDistributeEvent', requestId: 'd-9', events: [{ eventId: 'e1', modificationNumber: 2, startMs: T }] });
  });

  it('reads an empty oadrDistributeEvent as no events', () => {
    const empty = distributeEvent({ requestId: 'd', vtnId: 'VTN', venId: 'V', events: [] });
    expect(parseMessage(empty)).toMatchObject({ type: 'oadrDistributeEvent', events: [] });
  });

  it.each([
    ['not XML at all', 'hello', /malformed XML/],
    ['a truncated document', xml.slice(0, xml.length / 2), /malformed XML/],
    ['an entity bomb', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><oadrPayload>&b;</oadrPayload>`, /DOCTYPE/],
    ['a payload without oadrSignedObject', '<oadrPayload><x/></oadrPayload>', /oadrPayload\/oadrSignedObject/],
    ['a message a VTN never sends', oadrResponse(200, 'r').replace(/oadrResponse/g, 'oadrQueryRegistration'), /invalid oadrQueryRegistration|unexpected message oadrQueryRegistration/],
    ['a bad event status', xml.replace('<ei:eventStatus>far</ei:eventStatus>', '<ei:eventStatus>soon</ei:eventStatus>'), /eventStatus/],
    ['a bad duration', xml.replace('<xcal:duration>PT1800S</xcal:duration></xcal:duration></xcal:properties>', '<xcal:duration>half an hour</xcal:duration></xcal:duration></xcal:properties>'), /duration/],
    ['a non-numeric payload', xml.replace('<ei:value>2</ei:value>', '<ei:value>two</ei:value>'), /not a float/],
    ['a bad response code', oadrResponse(200, 'r').replace('<ei:responseCode>200<', '<ei:responseCode>OK<'), /responseCode must be 3 digits/],
  ])('refuses %s with a clear reason', (_what, text, reason) => {
    expect(() => parseMessage(text)).toThrow(reason);
  });

  it('names the message and its requestID when the content is invalid, so the VEN can answer in kind', () => {
    try {
      parseMessage(xml.replace('<ei:eventID>e1</ei:eventID>', ''));
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'OPENADR_PROTOCOL', messageType: 'oadrDistributeEvent', requestId: 'd-9' });
    }
  });
});
