// Pure: the small JSON path subset device payloads need: `$`, `$.key.sub`, `$.list[0]`.

export type PathStep = string | number;

export function parseJsonPath(path: string): PathStep[] {
  if (!path.startsWith('$')) throw new SyntaxError(`JSON path must start with $: ${path}`);
  const steps: PathStep[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const at = re.lastIndex;
    const m = re.exec(path);
    if (!m) throw new SyntaxError(`bad JSON path ${path} at ${at}`);
    steps.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  return steps;
}

/** The value at the path, or undefined when any step is missing. */
export function selectJsonPath(value: unknown, steps: readonly PathStep[]): unknown {
  let current = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}
