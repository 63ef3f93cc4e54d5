export { createInfluxExport, type InfluxExport, type InfluxExportStats, type PointWriter } from './influx-export.ts';
export { influxPoints } from './influx-points.ts';
