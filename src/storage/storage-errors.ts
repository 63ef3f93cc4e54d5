import { EmsError } from '../errors.ts';

export class StorageError extends EmsError {
  override readonly code: string = 'STORAGE_FAILED';
}

export class StorageMigrationError extends StorageError {
  override readonly code = 'STORAGE_MIGRATION_FAILED';
}

export class DuplicateUserError extends StorageError {
  override readonly code = 'USER_EXISTS';
}
