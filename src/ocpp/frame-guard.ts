// Pure checks of one inbound OCPP-J text frame before the RPC library sees it: nesting depth,
// JSON syntax, a readable message id, UTF-16 well-formedness and idTag characters. A refused frame
// gets a CALLERROR carrying the real message id whenever the id can be read.

/** OCPP payloads nest a handful of levels; 5,000 levels is an attack on the parser and validator. */
export const MAX_FRAME_DEPTH = 32;
/** OCPP-J message ids are at most 36 characters; a longer one is still echoed up to this length. */
const MAX_ID_CHARS = 128;

export type FrameVerdict =
  | { ok: true; frame: unknown }
  | {
      ok: false;
      /** The message id to answer with; "-1" only when none could be read. */
      messageId: string;
      /** Whether a CALLERROR is owed (CALLs and unknown message types; never CALLRESULT/CALLERROR). */
      answer: boolean;
      code: 'format' | 'PropertyConstraintViolation';
      /** Short reason, safe to log and to send back. */
      reason: 'too-deep' | 'not-json' | 'bad-message-id' | 'ill-formed-text' | 'bad-id-tag';
      description: string;
    };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Printable ASCII, no leading or trailing blank: what OCPP advises for idTags and idTokens. */
const PRINTABLE_ID_TAG = /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/;

/** Deepest array/object nesting in a JSON text, stopping once `limit` is passed. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The message type and id at the start of a frame, read even when the rest is not JSON. */
export function readEnvelope(text: string): { type?: number; messageId?: string } {
  const match = /^\s*\[\s*(\d{1,3})\s*,\s*("(?:[^"\\\u0000-\u001f]|\\.){0,200}"|-?\d{1,20})/.exec(text.slice(0, 512));
  if (!match) return {};
  const type = Number(match[1]);
  let messageId: string | undefined;
  try {
    const raw = JSON.parse(match[2]!) as unknown;
    messageId = typeof raw === 'number' ? String(raw) : (raw as string);
  } catch {
    messageId = undefined;
  }
  if (messageId !== undefined && (messageId.length > MAX_ID_CHARS || LONE_SURROGATE.test(messageId))) messageId = undefined;
  return { type, ...(messageId !== undefined ? { messageId } : {}) };
}

function refuse(text: string, reason: Extract<FrameVerdict, { ok: false }>['reason'], description: string, code: 'format' | 'PropertyConstraintViolation' = 'format'): FrameVerdict {
  const { type, messageId } = readEnvelope(text);
  return { ok: false, messageId: messageId ?? '-1', answer: type !== 3 && type !== 4, code, reason, description };
}

function hasIllFormedString(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasIllFormedString);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasIllFormedString(v));
  return false;
}

/** The idTags/idTokens a CALL carries (OCPP 1.6 and 2.0.1 shapes). */
function idTagsOf(action: string, params: any): unknown[] {
  if (!params || typeof params !== 'object') return [];
  switch (action) {
    case 'Authorize':
    case 'StartTransaction':
    case 'StopTransaction':
      return 'idTag' in params ? [params.idTag] : params.idToken ? [params.idToken.idToken] : [];
    case 'TransactionEvent':
      // A station that starts without authorization (a button, a key) sends type NoAuthorization
      // with the empty idToken the 2.0.1 spec requires: nothing to check.
      return params.idToken && !(params.idToken.type === 'NoAuthorization' && params.idToken.idToken === '') ? [params.idToken.idToken] : [];
    default:
      return [];
  }
}

export function isPrintableIdTag(tag: string): boolean {
  return PRINTABLE_ID_TAG.test(tag);
}

/**
 * Where a lone surrogate could hide in a frame: a \uD800-\uDFFF escape, or such a code unit in the
 * text itself (never in text decoded from UTF-8, which replaces them). Without one, no string of
 * the parsed frame can hold one and the walk over it is skipped.
 */
const MAYBE_SURROGATE = /\\u[dD][89a-fA-F]|[\uD800-\uDFFF]/;

/** A CALL's head up to its params: `[2, "id", "Action",`. */
const CALL_HEAD = /^\s*\[\s*2\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*"(?:[^"\\]|\\.)*"\s*,/;

/**
 * The params of a CALL as its text spells them (`frame`: the same text, parsed, e.g. by
 * inspectFrame), so a relay can send them on without serialising them again; undefined unless
 * the frame is a CALL of `action` with exactly four elements.
 */
export function callParamsText(text: string, frame: unknown, action: string): string | undefined {
  if (!Array.isArray(frame) || frame.length !== 4 || frame[0] !== 2 || frame[2] !== action) return undefined;
  const head = CALL_HEAD.exec(text);
  if (!head) return undefined;
  return text.slice(head[0].length, text.lastIndexOf(']'));
}

/** Judges one inbound text frame; `ok` frames go on to the RPC library unchanged (`frame`: the text parsed). */
export function inspectFrame(text: string): FrameVerdict {
  if (jsonDepth(text, MAX_FRAME_DEPTH) > MAX_FRAME_DEPTH) {
    return refuse(text, 'too-deep', `frame nested deeper than ${MAX_FRAME_DEPTH} levels`);
  }
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return refuse(text, 'not-json', 'frame is not valid JSON');
  }
  if (!Array.isArray(frame)) return { ok: true, frame };
  const [type, id] = frame as unknown[];
  if (typeof id === 'number') return refuse(text, 'bad-message-id', 'message id must be a string');
  if (MAYBE_SURROGATE.test(text) && hasIllFormedString(frame)) return refuse(text, 'ill-formed-text', 'frame holds a lone UTF-16 surrogate (not representable in UTF-8)');
  if (type === 2 && typeof frame[2] === 'string') {
    for (const tag of idTagsOf(frame[2], frame[3])) {
      if (typeof tag === 'string' && !isPrintableIdTag(tag)) {
        return refuse(text, 'bad-id-tag', 'idTag must be printable ASCII without leading or trailing blanks', 'PropertyConstraintViolation');
      }
    }
  }
  return { ok: true, frame };
}
