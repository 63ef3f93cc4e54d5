// The fuse tree flattened into arrays once per parameter set: node 0 is the grid connection
// point, node 1 the root circuit, then the rest depth-first. A connector's constraints are the
// (node, phase) pairs on its path to the grid; decide() only ever walks those short lists.
import type { ChargerParams, CircuitNode, DecideParams } from './types.ts';
import { connectorKey } from './types.ts';
import { finiteOr } from './numbers.ts';

/** The id used in reasons and reports for the connection point's own limit. */
export const GRID_NODE_ID = '@grid';

export interface IndexedCharger {
  params: ChargerParams;
  /** Index of the node that feeds the charger. */
  node: number;
}

export interface SiteIndex {
  /** Circuit ids by node index; node 0 is GRID_NODE_ID. */
  nodeIds: readonly string[];
  /** Limit per phase before the margin, A (sanitized: bad numbers are 0); re-read every call. */
  nodeLimitA: Float64Array;
  /** The tree's nodes by index (node 0, the grid, has none). */
  nodes: readonly (CircuitNode | undefined)[];
  /** Parent node index; -1 for node 0. */
  parent: Int32Array;
  /** Node indices from each node up to and including node 0. */
  paths: readonly Int32Array[];
  chargers: ReadonlyMap<string, IndexedCharger>;
  /** Constraint indices (3 × node + phase) for a charger node and a phase mask; memoized. */
  constraintsOf(node: number, mask: number): Int32Array;
  /**
   * The connector at position `i` of a snapshot's list: its connectorKey() (the same string every
   * cycle makes memory lookups cheap) and its charger. Memoized by position: a site's list is the
   * same every cycle, so a cycle costs two comparisons per connector, not three Map lookups.
   */
  connectorAt(i: number, chargerId: string, connectorId: number): IndexedConnector;
}

export interface IndexedConnector {
  readonly key: string;
  /** Undefined when the charger is not in the configuration. */
  readonly charger: IndexedCharger | undefined;
}

const MAX_DEPTH = 64;

function buildIndex(params: DecideParams): SiteIndex {
  const nodeIds: string[] = ['@grid'];
  const nodes: (CircuitNode | undefined)[] = [undefined];
  const limits: number[] = [Math.max(0, finiteOr(params.grid.maxCurrentA, 0))];
  const parents: number[] = [-1];
  const byId = new Map<string, number>();
  const seen = new Set<CircuitNode>();
  const directChargers = new Map<string, number>();

  const visit = (node: CircuitNode, parent: number, depth: number): void => {
    if (seen.has(node) || depth > MAX_DEPTH) return; // a shared or cyclic node is kept once
    seen.add(node);
    const index = nodeIds.length;
    nodeIds.push(node.id);
    nodes.push(node);
    limits.push(Math.max(0, finiteOr(node.maxCurrentA, 0)));
    parents.push(parent);
    if (!byId.has(node.id)) byId.set(node.id, index);
    for (const chargerId of node.chargerIds ?? []) if (!directChargers.has(chargerId)) directChargers.set(chargerId, index);
    for (const child of node.children ?? []) visit(child, index, depth + 1);
  };
  visit(params.circuit, 0, 0);

  const parent = Int32Array.from(parents);
  const paths = nodeIds.map((_, start) => {
    const path: number[] = [];
    for (let n = start; n >= 0; n = parent[n]) path.push(n);
    return Int32Array.from(path);
  });

  const chargers = new Map<string, IndexedCharger>();
  for (const charger of params.chargers) {
    if (chargers.has(charger.id)) continue; // the schema rejects duplicates; keep the first
    const node = byId.get(charger.circuitId) ?? directChargers.get(charger.id) ?? 1;
    chargers.set(charger.id, { params: charger, node });
  }

  const memo = new Map<number, Int32Array>();
  const constraintsOf = (node: number, mask: number): Int32Array => {
    const key = node * 8 + mask;
    let list = memo.get(key);
    if (!list) {
      const out: number[] = [];
      for (const n of paths[node]) for (let p = 0; p < 3; p++) if (mask & (1 << p)) out.push(n * 3 + p);
      list = Int32Array.from(out);
      memo.set(key, list);
    }
    return list;
  };

  const keys = new Map<string, Map<number, string>>();
  const keyOf = (chargerId: string, connectorId: number): string => {
    let byConnector = keys.get(chargerId);
    if (!byConnector) {
      if (!chargers.has(chargerId)) return connectorKey(chargerId, connectorId); // unknown ids are not kept
      byConnector = new Map();
      keys.set(chargerId, byConnector);
    }
    let key = byConnector.get(connectorId);
    if (key === undefined) {
      key = connectorKey(chargerId, connectorId);
      if (byConnector.size < 64) byConnector.set(connectorId, key);
    }
    return key;
  };

  const byPosition: { chargerId: string; connectorId: number; connector: IndexedConnector }[] = [];
  const connectorAt = (i: number, chargerId: string, connectorId: number): IndexedConnector => {
    const memo = byPosition[i];
    if (memo !== undefined && memo.chargerId === chargerId && memo.connectorId === connectorId) return memo.connector;
    const connector: IndexedConnector = { key: keyOf(chargerId, connectorId), charger: chargers.get(chargerId) };
    if (i <= byPosition.length) byPosition[i] = { chargerId, connectorId, connector };
    return connector;
  };

  return { nodeIds, nodeLimitA: Float64Array.from(limits), nodes, parent, paths, chargers, constraintsOf, connectorAt };
}

interface CacheEntry {
  chargers: DecideParams['chargers'];
  children: readonly (readonly CircuitNode[] | undefined)[];
  chargerIds: readonly (readonly string[] | undefined)[];
  index: SiteIndex;
}

// Memo keyed on the circuit tree object: same output for the same input, just without rebuilding
// the arrays every cycle. A new tree or charger list gets a new index; limits are re-read.
const cache = new WeakMap<CircuitNode, CacheEntry>();

export function siteIndex(params: DecideParams): SiteIndex {
  const hit = cache.get(params.circuit);
  if (hit && hit.chargers === params.chargers) {
    // Limits may be changed in place (dynamic limits): always read them afresh. A changed shape
    // (children replaced) rebuilds the index.
    const index = hit.index;
    let sameShape = true;
    index.nodeLimitA[0] = Math.max(0, finiteOr(params.grid.maxCurrentA, 0));
    for (let n = 1; n < index.nodes.length && sameShape; n++) {
      const node = index.nodes[n]!;
      index.nodeLimitA[n] = Math.max(0, finiteOr(node.maxCurrentA, 0));
      sameShape = node.id === index.nodeIds[n] && hit.children[n] === node.children && hit.chargerIds[n] === node.chargerIds;
    }
    if (sameShape) return index;
  }
  const index = buildIndex(params);
  cache.set(params.circuit, {
    chargers: params.chargers,
    children: index.nodes.map((node) => node?.children),
    chargerIds: index.nodes.map((node) => node?.chargerIds),
    index,
  });
  return index;
}
