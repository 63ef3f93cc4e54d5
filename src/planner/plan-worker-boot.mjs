// Worker bootstrap: load tsx's loader in this thread, then the TypeScript worker (as bin/ems.js does).
import { register } from 'tsx/esm/api';

register();
await import('./plan-worker.ts');
