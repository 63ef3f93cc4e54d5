import { EmsError } from '../errors.ts';

export class SignalInputError extends EmsError {
  override readonly code = 'SIGNAL_INVALID';
}

export class SignalEventNotFoundError extends EmsError {
  override readonly code = 'SIGNAL_EVENT_NOT_FOUND';
}

export class SignalForbiddenError extends EmsError {
  override readonly code = 'SIGNAL_FORBIDDEN';
}

export class SignalStoreError extends EmsError {
  override readonly code = 'SIGNAL_STORE_FAILED';
}

export class SignalNotFoundError extends EmsError {
  override readonly code = 'SIGNAL_NOT_FOUND';
}

/** The signal exists but belongs to a producer the operator cannot end (an OpenADR event: opt out instead). */
export class SignalConflictError extends EmsError {
  override readonly code = 'CONFLICT';
}
