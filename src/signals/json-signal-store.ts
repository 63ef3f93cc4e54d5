import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { SignalStoreError } from './errors.ts';
import type { SignalStore, StoredSignals } from './signal-store.ts';

const storedSchema = z.object({
  signals: z.array(
    z.looseObject({
      id: z.string(),
      source: z.string(),
      kind: z.enum(['import-limit', 'export-limit', 'price', 'ghg', 'load-shed', 'alert']),
      startMs: z.number(),
      endMs: z.number(),
      value: z.number(),
    }),
  ),
  optOuts: z.array(z.object({ source: z.string(), eventId: z.string(), by: z.string(), atMs: z.number() })),
});

/** A JSON file written atomically (temp file + rename), so a crash mid-write keeps the old set. */
export function createJsonSignalStore(path: string): SignalStore {
  return {
    load(): StoredSignals {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { signals: [], optOuts: [] };
        throw new SignalStoreError(`cannot read ${path}`, { cause: error });
      }
      try {
        return storedSchema.parse(JSON.parse(text)) as StoredSignals;
      } catch (error) {
        throw new SignalStoreError(`${path} is not a valid signal store`, { cause: error });
      }
    },
    save(data: StoredSignals): void {
      try {
        mkdirSync(dirname(path), { recursive: true });
        const temp = `${path}.${process.pid}.tmp`;
        writeFileSync(temp, JSON.stringify(data));
        renameSync(temp, path);
      } catch (error) {
        throw new SignalStoreError(`cannot write ${path}`, { cause: error });
      }
    },
  };
}

/** Where the timeline keeps its file by default: next to the SQLite database. */
export function defaultSignalStorePath(storagePath: string): string {
  return join(dirname(storagePath), 'signals.json');
}
