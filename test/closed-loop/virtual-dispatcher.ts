// The virtual-time dispatcher lives with the replay that also runs on the plant (ems simulate).
export * from '../../src/simulate/virtual-dispatcher.ts';
