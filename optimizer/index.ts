export { decide } from './decide.ts';
export { headroom } from './headroom.ts';
export { GRID_NODE_ID } from './site-index.ts';
export * from './types.ts';
