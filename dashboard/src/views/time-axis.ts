import type uPlot from 'uplot';
import { formatAxisTimes } from '../format.ts';

/**
 * The x axis of a time chart: 24 h labels with ISO dates where a day starts. The labels drawn are
 * also kept on `box` (data-time-labels), for assistive technology and the tests, since uPlot draws
 * on a canvas.
 */
export function timeAxis(box: HTMLElement): uPlot.Axis {
  return {
    stroke: '#4a5568',
    grid: { stroke: '#edf0f4' },
    size: 44,
    values: (_u, splits) => {
      const labels = formatAxisTimes(splits);
      box.dataset.timeLabels = labels.join(' | ').replace(/\n/g, ' ');
      return labels;
    },
  };
}
