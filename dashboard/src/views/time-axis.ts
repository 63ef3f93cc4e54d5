import uPlot from 'uplot';
import type { SiteTime } from '../format.ts';

/**
 * The x axis of a time chart in site time: 24 h labels with ISO dates where a day starts. The labels
 * drawn are also kept on `box` (data-time-labels), for assistive technology and the tests, since
 * uPlot draws on a canvas.
 */
export function timeAxis(box: HTMLElement, time: SiteTime): uPlot.Axis {
  return {
    stroke: '#4a5568',
    grid: { stroke: '#edf0f4' },
    size: 44,
    values: (_u, splits) => {
      const labels = time.axisTimes(splits);
      box.dataset.timeLabels = labels.join(' | ').replace(/\n/g, ' ');
      return labels;
    },
  };
}

/** uPlot's `tzDate` option: ticks on whole hours and days of the site's clock, not the browser's. */
export function siteTzDate(time: SiteTime): (ts: number) => Date {
  return (ts) => uPlot.tzDate(new Date(ts * 1000), time.timeZone);
}
