// The served OpenAPI document is complete and lints clean: every registered route is in it with
// its answers (a shared error schema for 4xx/5xx), request bodies, per-route security, and the
// Redocly linter (the engine behind `redocly lint`, recommended rules) finds nothing but the
// waivers listed here.
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, type ApiFixture } from './api-fixture.ts';

/** Documented waivers: rule and JSON pointer, with why. */
const WAIVERS: { ruleId: string; pointer: string; why: string }[] = [
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1healthz/get/responses', why: 'takes no input and needs no login: answers 200 or 503' },
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1metrics/get/responses', why: 'public by default (http.publicMetrics); with a token required the 401/403 are listed' },
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1api~1v1~1auth~1setup/get/responses', why: 'takes no input and needs no login' },
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1api~1v1~1auth~1logout/post/responses', why: 'always answers 204 (logging out without a session is fine)' },
  { ruleId: 'operation-2xx-response', pointer: '#/paths/~1api~1v1~1live/get/responses', why: 'a WebSocket answers 101 Switching Protocols; OpenAPI 3.0 has no way to describe the messages, so its description does' },
];

type Operation = { operationId?: string; security?: unknown[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };

let api: ApiFixture;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

beforeAll(async () => {
  // Every optional part wired, so every route the EMS can register is registered.
  api = await createApiFixture({
    deps: {
      signals: { list: () => [], optOut() {}, optIn() {}, addLimit: (() => ({ id: 'x' })) as never, end: (() => true) as never },
      openadr: () => [],
      upstream: () => [],
      plan: { currentPlan: () => undefined, status: () => ({}) as never },
      economics: { kpis: () => ({}) as never, prices: () => ({}) as never, sessionBills: () => [], sessionBill: () => undefined, billsBetween: () => [] },
      configPath: '/nonexistent/site.yaml',
    },
  });
  const res = await api.inject({ method: 'GET', url: '/api/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(() => api.close());

const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

describe('the OpenAPI document', () => {
  it('passes the Redocly linter (recommended rules) except the documented waivers', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    const found = problems.map((p) => ({ ruleId: p.ruleId, pointer: p.location[0]?.pointer ?? '', message: p.message }));
    const unwaived = found.filter((p) => !WAIVERS.some((w) => w.ruleId === p.ruleId && w.pointer === p.pointer));
    expect(unwaived).toEqual([]);
    // A waiver that no longer matches anything is dropped, not kept as dead text.
    for (const w of WAIVERS) expect(found.some((p) => p.ruleId === w.ruleId && p.pointer === w.pointer), w.pointer).toBe(true);
  });

  it('has every registered route, with /healthz, /metrics and the live WebSocket', () => {
    const registered = api.http.routes
      .filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/api/docs') && r.url !== '/' && r.url !== '*' && !r.url.includes('*'))
      .map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThan(35);
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    expect(registered.filter((r) => !documented.has(r))).toEqual([]);
    for (const route of ['get /healthz', 'get /metrics', 'get /api/v1/live', 'get /api/v1/history/connectors']) expect(documented.has(route), route).toBe(true);
  });

  it('gives every operation an id, a success answer with a schema, and the shared error schema for its errors', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect(op.operationId, where).toBeTruthy();
      expect(ids.has(op.operationId!), `${where}: operationId ${op.operationId} twice`).toBe(false);
      ids.add(op.operationId!);
      const codes = Object.keys(op.responses);
      const success = codes.filter((c) => /^2\d\d$/.test(c) || c === '101');
      expect(success.length, where).toBeGreaterThan(0);
      for (const code of success) {
        if (code === '204' || code === '101') continue;
        const content = op.responses[code].content ?? {};
        expect(Object.keys(content).length, `${where} ${code}: no content`).toBeGreaterThan(0);
        for (const media of Object.values(content)) expect(media.schema, `${where} ${code}`).toBeDefined();
      }
      for (const code of codes.filter((c) => /^[45]\d\d$/.test(c) && !(path === '/healthz' && c === '503'))) {
        expect(op.responses[code].content?.['application/json']?.schema?.$ref, `${where} ${code}`).toBe('#/components/schemas/ApiError');
      }
    }
    expect(doc.components.schemas.ApiError).toMatchObject({ required: ['error', 'message'] });
  });

  it('documents request bodies (the config PUT as JSON or YAML text) and the CSV exports', () => {
    const put = doc.paths['/api/v1/config'].put;
    expect(Object.keys(put.requestBody!.content)).toEqual(expect.arrayContaining(['application/json', 'text/yaml']));
    for (const { path, method, op } of operations()) {
      if (['post', 'put', 'patch'].includes(method) && !['/api/v1/auth/logout'].includes(path) && !path.includes('/opt-')) expect(op.requestBody, `${method} ${path}`).toBeDefined();
    }
    for (const path of ['/api/v1/sessions', '/api/v1/bills', '/api/v1/history', '/api/v1/history/connectors']) {
      expect(Object.keys(doc.paths[path].get.responses['200'].content!), path).toEqual(expect.arrayContaining(['application/json', 'text/csv']));
    }
  });

  it('needs no login for login, setup and health; every other API route needs one', () => {
    const open = new Set(['post /api/v1/auth/login', 'get /api/v1/auth/setup', 'post /api/v1/auth/setup', 'post /api/v1/auth/logout', 'get /healthz', 'get /metrics']);
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      if (open.has(where)) expect(op.security, where).toEqual([]);
      else {
        expect(op.security, where).toBeUndefined(); // the document's default: bearer or cookie
        expect(op.responses['401'], where).toBeDefined();
      }
    }
  });
});
