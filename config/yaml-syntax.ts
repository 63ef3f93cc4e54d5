// Turns the YAML library's syntax errors into one problem per line, pointing at the line to fix.
import type { LineCounter, YAMLError } from 'yaml';
import type { ConfigProblem } from './config-problem.ts';

interface Opener {
  char: string;
  offset: number;
}

/**
 * The bracket or quote still open at `endOffset`, scanning flow brackets and quoted scalars
 * (comments skipped). The parser reports an unclosed `[`, `{` or `"` where it gives up, often
 * lines later; the installer needs the line where it was opened.
 */
export function unclosedOpener(text: string, endOffset: number): Opener | undefined {
  const stack: Opener[] = [];
  let quote: Opener | undefined;
  for (let i = 0; i < Math.min(endOffset, text.length); i++) {
    const c = text[i];
    if (quote) {
      if (quote.char === '"' && c === '\\') i++;
      else if (quote.char === "'" && c === "'" && text[i + 1] === "'") i++;
      else if (c === quote.char) quote = undefined;
      continue;
    }
    const atTokenStart = i === 0 || /[\s[{,:]/.test(text[i - 1]);
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && atTokenStart) {
      quote = { char: c, offset: i };
    } else if (c === '[' || c === '{') {
      stack.push({ char: c, offset: i });
    } else if ((c === ']' || c === '}') && stack.length > 0) {
      stack.pop();
    }
  }
  return quote ?? stack[stack.length - 1];
}

const OPENER_NAMES: Record<string, string> = { '[': 'the "[" opened here is not closed with "]"', '{': 'the "{" opened here is not closed with "}"', '"': 'the double quote opened here is not closed', "'": 'the single quote opened here is not closed' };

export function yamlSyntaxProblems(
  errors: readonly YAMLError[],
  text: string,
  lineCounter: LineCounter,
  source: string,
  severity: 'error' | 'warning',
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seenLines = new Set<number>();
  for (const error of errors) {
    // The library's message repeats the position and quotes the source; keep the first sentence.
    let text0 = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    let line = error.linePos?.[0].line;
    let column = error.linePos?.[0].col;
    const unclosed = /end with a [\]}]|Missing closing/.test(text0) ? unclosedOpener(text, error.pos[0]) : undefined;
    if (unclosed && line !== undefined) {
      const opened = lineCounter.linePos(unclosed.offset);
      if (opened.line !== line) {
        text0 = `${OPENER_NAMES[unclosed.char]} (the parser gave up on line ${line})`;
        line = opened.line;
        column = opened.col;
      }
    }
    if (line === undefined) {
      problems.push({ path: source, message: text0, severity });
      continue;
    }
    // Later errors on the same line are nearly always consequences of the first one.
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    problems.push({ path: `${source}:${line}`, message: `${text0} (column ${column})`, severity, line });
  }
  return problems;
}
