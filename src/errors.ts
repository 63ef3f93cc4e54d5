/** Base of every error the shell raises on purpose: a stable `code` and the underlying `cause`. */
export class EmsError extends Error {
  readonly code: string = 'EMS_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigError extends EmsError {
  override readonly code = 'CONFIG_INVALID';
  constructor(
    readonly problems: readonly { path: string; message: string; severity: 'error' | 'warning' }[],
    options?: { cause?: unknown },
  ) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'), options);
  }
}
