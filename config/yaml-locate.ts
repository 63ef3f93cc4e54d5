// Maps a key path (`chargers.3.minCurrent`) back to the line it came from in the YAML source.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './config-problem.ts';

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

function resolve(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Line (1-based) of the deepest node on `path` that exists in the document: the key's line for a
 * mapping entry, the item's line for a list item. A path to a missing key gives its parent's line.
 */
export function lineOfPath(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[]): number | undefined {
  let node: unknown = resolve(doc.contents, doc);
  let offset = startOf(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (!pair) break;
      offset = startOf(pair.key) ?? startOf(pair.value) ?? offset;
      node = resolve(pair.value, doc);
    } else if (isSeq(node)) {
      const index = typeof segment === 'number' ? segment : Number(segment);
      const item = Number.isInteger(index) ? (node.items[index] as Node | undefined) : undefined;
      if (item === undefined) break;
      offset = startOf(item) ?? offset;
      node = resolve(item, doc);
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/** Splits a problem path back into segments; all-digit segments become array indexes. */
export function splitPath(path: string): PathSegment[] {
  if (path === '') return [];
  return path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
