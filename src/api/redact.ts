// Secrets are write-only in the API: reads show SECRET_MASK, and a write that sends the mask back
// keeps the stored value. Works on parsed values and on the YAML text itself (comments kept).
import { isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml';
import { SECRET_MASK, isSecretKey, redactSecrets, redactUrlCredentials } from '../secrets.ts';
import { ApiValidationError } from './api-errors.ts';

export { SECRET_MASK, redactSecrets };

type PathStep = string | number;

/** The path of a node, with sequence items named by their `id` when they have one (reorder-safe). */
function stepsOf(path: readonly unknown[]): PathStep[] {
  const steps: PathStep[] = [];
  for (let i = 0; i < path.length; i++) {
    const node = path[i];
    if (isPair(node)) steps.push(String(isScalar(node.key) ? node.key.value : node.key));
    else if (isSeq(node)) {
      const item = path[i + 1];
      const id = isMap(item) ? item.get('id') : undefined;
      steps.push(typeof id === 'string' ? `#${id}` : node.items.indexOf(item as never));
    }
  }
  return steps;
}

/** Every secret scalar of a YAML document: by key, or a string holding URL credentials. */
function eachSecret(doc: Document, visitor: (steps: PathStep[], scalar: { value: unknown }, byKey: boolean) => void): void {
  visit(doc, {
    Pair(_key, pair, path) {
      if (isScalar(pair.key) && isScalar(pair.value)) {
        const byKey = isSecretKey(String(pair.key.value));
        const text = typeof pair.value.value === 'string' ? pair.value.value : undefined;
        if (byKey || (text !== undefined && (text.includes(SECRET_MASK) || redactUrlCredentials(text) !== text))) {
          visitor([...stepsOf([...path, pair])], pair.value, byKey);
        }
      }
    },
  });
}

/** The YAML text with every secret masked; comments and layout kept. Unparseable text is masked line by line. */
export function redactYamlText(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) return text.split('\n').map((l) => (isSecretKey(l.split(':')[0]!.trim()) ? `${l.split(':')[0]}: ${SECRET_MASK}` : redactUrlCredentials(l))).join('\n');
  eachSecret(doc, (_steps, scalar, byKey) => {
    scalar.value = byKey ? SECRET_MASK : redactUrlCredentials(String(scalar.value));
  });
  return doc.toString();
}

/**
 * The incoming YAML with every masked secret replaced by the stored one at the same place (list
 * items matched by id). A mask with no stored counterpart is a 400: the admin must type the secret.
 */
export function restoreMaskedSecrets(incoming: string, stored: string): string {
  if (!incoming.includes(SECRET_MASK)) return incoming;
  const doc = parseDocument(incoming);
  if (doc.errors.length) return incoming;
  const storedSecrets = new Map<string, string>();
  eachSecret(parseDocument(stored), (steps, scalar) => storedSecrets.set(JSON.stringify(steps), String(scalar.value)));
  const missing: string[] = [];
  eachSecret(doc, (steps, scalar, byKey) => {
    const value = String(scalar.value);
    if (!value.includes(SECRET_MASK)) return;
    const previous = storedSecrets.get(JSON.stringify(steps));
    if (previous === undefined) {
      missing.push(steps.join('.'));
      return;
    }
    if (byKey) scalar.value = previous;
    else scalar.value = value.replace(SECRET_MASK, /:\/\/[^\s/@:]*:([^\s/@]*)@/.exec(previous)?.[1] ?? SECRET_MASK);
  });
  if (missing.length) {
    throw new ApiValidationError(missing.map((path) => ({ path, message: `"${SECRET_MASK}" stands for a stored secret, but none is stored here; type the secret` })));
  }
  return doc.toString();
}
