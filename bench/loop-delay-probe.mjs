// Preloaded into the EMS process by bench/upstream.bench.ts (node --import): the event loop's
// delay, the time a frame that has arrived waits for the EMS's one thread. On SIGUSR2 it writes
// the histogram since the last signal to $EMS_LOOP_DELAY_FILE (ms) and starts a new one, and
// appends its pid and the monotonic time of the signal (µs) to $EMS_LOOP_MARKS_FILE (default
// $EMS_LOOP_DELAY_FILE.marks).
// Also, since the last signal (unless EMS_RESIDENCE=0): each charger CALL's **residence** in the EMS,
// from the wire-timing channels (src/wire-timing.ts; a checkout without them publishes
// nothing): for a relayed CALL, charger frame read → upstream frame written (`upMs`) plus CSMS
// answer read → charger answer written (`downMs`), what "forwarding adds" means inside the EMS;
// for a CALL the EMS answers itself, frame read → answer written (`localMs`). By class:
// `transaction` (Start/StopTransaction), `meterValues`, `other`. A frame that waits in the kernel
// while the loop is busy is not in it (that wait is the loop delay above). And the GC pauses (ms).
import diagnostics from 'node:diagnostics_channel';
import { appendFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.EMS_LOOP_DELAY_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const classOf = (action) => (action === 'StartTransaction' || action === 'StopTransaction' ? 'transaction' : action === 'MeterValues' ? 'meterValues' : 'other');
  const fresh = () => ({ transaction: { upMs: [], downMs: [], relayedMs: [], localMs: [] }, meterValues: { upMs: [], downMs: [], relayedMs: [], localMs: [] }, other: { upMs: [], downMs: [], relayedMs: [], localMs: [] } });
  let residence = fresh();
  let gcMs = [];
  if (process.env.EMS_RESIDENCE !== '0') {
    /** identity + messageId → the CALL in the EMS; identity → the one on its way up (a charger has one CALL out at a time). */
    const open = new Map();
    const upward = new Map();
    const round = (ms) => Math.round(ms * 1000) / 1000;
    diagnostics.subscribe('ems:ocpp:call-in', ({ identity, messageId, action, atMs }) => {
      const call = { identity, action, inAtMs: atMs, outAtMs: undefined, answerInAtMs: undefined };
      open.set(`${identity} ${messageId}`, call);
      upward.set(identity, call);
    });
    diagnostics.subscribe('ems:upstream:call-out', ({ identity, action, atMs }) => {
      const call = upward.get(identity);
      if (call && call.action === action && call.outAtMs === undefined) call.outAtMs = atMs;
    });
    diagnostics.subscribe('ems:upstream:answer-in', ({ identity, action, atMs }) => {
      const call = upward.get(identity);
      if (call && call.action === action && call.outAtMs !== undefined && call.answerInAtMs === undefined) call.answerInAtMs = atMs;
    });
    diagnostics.subscribe('ems:ocpp:answer-out', ({ identity, messageId, atMs }) => {
      const key = `${identity} ${messageId}`;
      const call = open.get(key);
      if (!call) return;
      open.delete(key);
      if (upward.get(identity) === call) upward.delete(identity);
      const bucket = residence[classOf(call.action)];
      if (call.answerInAtMs !== undefined) {
        const up = call.outAtMs - call.inAtMs;
        const down = atMs - call.answerInAtMs;
        bucket.upMs.push(round(up));
        bucket.downMs.push(round(down));
        bucket.relayedMs.push(round(up + down));
      } else if (call.outAtMs === undefined) bucket.localMs.push(round(atMs - call.inAtMs));
    });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMs.push(round(entry.duration));
    }).observe({ entryTypes: ['gc'] });
  }
  process.on('SIGUSR2', () => {
    const ms = (ns) => ns / 1e6;
    writeFileSync(file, JSON.stringify({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), count: histogram.count, residence, gcMs }));
    histogram.reset();
    residence = fresh();
    gcMs = [];
    // When (the monotonic clock a --cpu-prof profile is timed on, µs): to cut the bench's window out of a profile.
    appendFileSync(process.env.EMS_LOOP_MARKS_FILE ?? `${file}.marks`, `${process.pid} ${process.hrtime.bigint() / 1000n}\n`);
  });
}
