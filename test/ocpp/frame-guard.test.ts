// frame-guard.ts: the params text of a CALL (what a relay sends on unchanged), and lone surrogates
// found whether the frame spells them as escapes or carries them as code units.
import { describe, expect, it } from 'vitest';
import { callParamsText, inspectFrame } from '../../src/ocpp/frame-guard.ts';

const paramsOf = (text: string, action: string) => {
  const verdict = inspectFrame(text);
  if (!verdict.ok) throw new Error(verdict.description);
  return callParamsText(text, verdict.frame, action);
};

describe('callParamsText', () => {
  it('gives the params as spelled, whitespace and all', () => {
    expect(paramsOf('[2,"1","Heartbeat",{}]', 'Heartbeat')).toBe('{}');
    expect(paramsOf(' [ 2 , "a\\"]b" , "Authorize" , { "idTag" : "X,]" } ] ', 'Authorize')).toBe(' { "idTag" : "X,]" } ');
    const text = '[2,"id","MeterValues",{"connectorId":1.0,"meterValue":[{"timestamp":"2026-12-07T00:00:00Z","sampledValue":[{"value":"1.50"}]}]}]';
    expect(JSON.parse(paramsOf(text, 'MeterValues')!)).toEqual((JSON.parse(text) as unknown[])[3]);
  });

  it('gives nothing for another action, another message type, or a frame that is not four elements', () => {
    expect(paramsOf('[2,"1","Heartbeat",{}]', 'Authorize')).toBeUndefined();
    expect(paramsOf('[3,"1",{}]', 'Heartbeat')).toBeUndefined();
    expect(paramsOf('[2,"1","Heartbeat",{},{"extra":1}]', 'Heartbeat')).toBeUndefined();
    expect(paramsOf('[2,"1","Heartbeat"]', 'Heartbeat')).toBeUndefined();
  });
});

describe('inspectFrame and lone surrogates', () => {
  it('refuses a lone surrogate escaped in a value or a key, or carried as a code unit; keeps a pair', () => {
    expect(inspectFrame('[2,"1","DataTransfer",{"vendorId":"\\ud800x"}]')).toMatchObject({ ok: false, reason: 'ill-formed-text' });
    expect(inspectFrame('[2,"1","DataTransfer",{"vendorId":"v","data":{"\\uDC00":1}}]')).toMatchObject({ ok: false, reason: 'ill-formed-text' });
    expect(inspectFrame('[2,"1","DataTransfer",{"vendorId":"\ud800"}]')).toMatchObject({ ok: false, reason: 'ill-formed-text' });
    expect(inspectFrame('[2,"1","DataTransfer",{"vendorId":"\\ud83d\\ude00"}]')).toMatchObject({ ok: true });
    expect(inspectFrame('[2,"1","DataTransfer",{"vendorId":"\\u00e9"}]')).toMatchObject({ ok: true });
  });
});
