// A writer process for wal-checkpointer.test.ts: commits queued frames through openStorage while a
// WalCheckpointer checkpoints on its worker every few ms; prints "<committed> <checkpoints>" after
// each batch (committed = rows whose insert returned). Ends by itself after 60 s (the test kills it).
import { pino } from 'pino';
import { realWait, systemClock } from '../../src/clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { WalCheckpointer } from '../../src/storage/wal-checkpointer.ts';

const store = openStorage(process.argv[2]!, systemClock);
const checkpointer = new WalCheckpointer({ path: store.path, autoCheckpoint: (pages) => store.autoCheckpoint(pages), wait: realWait, log: pino({ level: 'warn' }, process.stderr), intervalMs: 2, minFrames: 50 });
await checkpointer.start();
const endAt = Date.now() + 60_000;
let committed = 0;
while (Date.now() < endAt) {
  for (let i = 0; i < 20; i++) {
    store.upstream.enqueue({ chargerId: 'CP1', action: 'MeterValues', payload: { pad: 'x'.repeat(1500), i: committed }, queuedAtMs: committed });
    committed++;
  }
  process.stdout.write(`${committed} ${checkpointer.checkpoints}\n`);
  await new Promise((resolve) => setImmediate(resolve));
}
await checkpointer.stop();
store.close();
