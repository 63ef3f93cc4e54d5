// Close-match suggestions for misspelt keys, enum values and time zones.

function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/** Candidates close to `word` (case, `-`/`_` and a few typos forgiven), best first, at most `limit`. */
export function closeMatches(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const target = normalize(word);
  const scored: { candidate: string; distance: number }[] = [];
  for (const candidate of new Set(candidates)) {
    const normalized = normalize(candidate);
    const distance = editDistance(target, normalized);
    const allowed = Math.max(1, Math.floor(Math.max(target.length, normalized.length) / 4));
    const isPrefix = target.length >= 3 && (normalized.startsWith(target) || target.startsWith(normalized));
    if (distance <= allowed || isPrefix) scored.push({ candidate, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate));
  return scored.slice(0, limit).map((s) => s.candidate);
}

/** `; did you mean "a" or "b"?` or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const matches = closeMatches(word, candidates);
  if (matches.length === 0) return '';
  const quoted = matches.map((m) => `"${m}"`);
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  return `; did you mean ${list}?`;
}
