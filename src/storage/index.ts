export { openStorage } from './open-storage.ts';
export { migrate, migrations } from './migrations.ts';
export { billingMonth } from './peak-store.ts';
export * from './types.ts';
export * from './storage-errors.ts';
