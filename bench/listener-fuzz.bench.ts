// 100,000 hostile inputs on every listener of one real `ems run` at once (see
// test/security/listener-fuzz.ts): it must keep running, answer, log no unhandled rejection, give
// no 5xx, keep its VENs polling, and keep its memory bounded.
import { BENCH_LISTENER_COUNTS, fuzzListeners } from '../test/security/listener-fuzz.ts';
import type { Bench } from './types.ts';

const bench: Bench = async () => {
  const report = await fuzzListeners({ counts: BENCH_LISTENER_COUNTS, seed: 2026, deadlineMs: 30 * 60_000 });
  const { sent } = report;
  const total = Object.values(sent).reduce((a, b) => a + b, 0);
  const first = report.rssMb[0] ?? 0;
  const max = Math.max(...report.rssMb);
  const last = report.rssMb.at(-1) ?? 0;
  const crashes = report.alive ? 0 : 1;
  const met = crashes === 0 && report.healthz === 200 && report.ocppProbe && report.guardEvents === 0 && report.guardLines.length === 0 && report.api5xx.length === 0 && report.vensPolling && total >= 100_000;
  return [
    {
      title: `Listener fuzz: ${total.toLocaleString('en')} hostile inputs on every listener of ems run`,
      columns: ['OCPP', 'API', 'live WS', 'MQTT', 'webhook', 'Modbus answers', '3.1 JSON answers', '2.0b XML answers', 'total', 'crashes', 'unhandled', 'API 5xx', 'healthz', 'OCPP probe', 'VENs polling', 'RSS start/max/end (MB)', 'seconds'],
      rows: [
        [
          sent.ocpp,
          sent.api,
          sent.live,
          sent.mqtt,
          sent.webhook,
          sent.modbus,
          sent.openadrJson,
          sent.openadrXml,
          total,
          crashes,
          report.guardEvents + report.guardLines.length,
          report.api5xx.length,
          report.healthz,
          report.ocppProbe ? 'yes' : 'no',
          report.vensPolling ? 'yes' : 'no',
          `${first.toFixed(0)}/${max.toFixed(0)}/${last.toFixed(0)}`,
          report.seconds,
        ],
      ],
      notes: [
        `target: ≥ 100,000 inputs, 0 crashes, 0 unhandled rejections, 0 API 5xx, every probe answered, VENs still polling — ${met ? 'met' : 'NOT met'}`,
        'Modbus and OpenADR answers come at the EMS\'s own pace (it is the client); a lying meter, 3.1 VTN and 2.0b VTN answer every request with mangled or random data',
        `open file descriptors start/max/end: ${report.fds[0] ?? '?'}/${report.fds.length ? Math.max(...report.fds) : '?'}/${report.fds.at(-1) ?? '?'}`,
        ...(report.death ? [`the process died: exit ${report.death.exit}; last output: ${report.death.tail.replace(/\s+/g, ' ').slice(-600)}`] : []),
        ...(report.api5xx.length ? [`API 5xx: ${report.api5xx.slice(0, 5).join('; ')}`] : []),
      ],
    },
  ];
};

export default bench;
