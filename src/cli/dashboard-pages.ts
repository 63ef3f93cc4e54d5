import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import type { Logger } from '../log.ts';

/** Rebuilds the dashboard when its sources are newer than the build (after a pull); never fatal. */
export async function prepareDashboard(log: Logger): Promise<void> {
  try {
    await ensureDashboardBuilt();
  } catch (error) {
    log.error({ err: error }, 'dashboard pages unavailable; the API and control run without them');
  }
}
