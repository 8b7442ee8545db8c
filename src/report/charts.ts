/**
 * Line charts of training curves (loss, dev F1) for the HTML training report
 * and the browser training page, drawn by uPlot (a small, fast canvas chart
 * library; bundled into the page, nothing is fetched). Browser only.
 */
import uPlot from "uplot";

/** One curve. */
export interface SeriesSpec {
  label: string;
  color: string;
  /** Draw a dot at every point (per-epoch curves), not just the line. */
  points?: boolean;
}

/** What a chart shows. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: SeriesSpec[];
  width?: number;
  height?: number;
  /** Fixed y range, e.g. [0, 100] for F1; default: fit the data. */
  yRange?: [number, number];
  /** x is a count (epochs): ticks only at whole numbers. */
  xWhole?: boolean;
}

/** A chart whose data can be replaced (live training). */
export interface LineChart {
  /** x values and one y array per series (null: no point). */
  setData(x: readonly number[], ys: readonly (readonly (number | null)[])[]): void;
  /** The data shown: x values and each series' y values. */
  data(): { x: number[]; ys: (number | null)[][] };
  destroy(): void;
}

/** Draw a line chart into `el`. */
export function lineChart(el: HTMLElement, spec: ChartSpec): LineChart {
  let x: number[] = [];
  let ys: (number | null)[][] = spec.series.map(() => []);
  const opts: uPlot.Options = {
    title: spec.title,
    width: spec.width ?? 600,
    height: spec.height ?? 260,
    scales: { x: { time: false }, y: spec.yRange ? { range: spec.yRange } : {} },
    axes: [{ label: spec.xLabel, ...(spec.xWhole ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } : {}) }, { label: spec.yLabel }],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, spanGaps: true,
        points: { show: s.points ?? false, size: 6, fill: s.color },
      })),
    ],
  };
  const plot = new uPlot(opts, [x, ...ys] as uPlot.AlignedData, el);
  return {
    setData(nx, nys) {
      x = [...nx];
      ys = nys.map((s) => [...s]);
      plot.setData([x, ...ys] as uPlot.AlignedData);
    },
    data: () => ({ x: [...x], ys: ys.map((s) => [...s]) }),
    destroy: () => plot.destroy(),
  };
}

/** The per-epoch data both pages chart. */
export interface EpochPoint {
  epoch: number;
  loss: number;
  dev_f1: number | null;
  dev_precision: number | null;
  dev_recall: number | null;
}

/** The loss chart (per epoch). */
export function lossChart(el: HTMLElement, xLabel = "epoch", points = true): LineChart {
  return lineChart(el, { title: "Training loss", xLabel, yLabel: "mean loss", xWhole: true, series: [{ label: "loss", color: "#d9480f", points }] });
}

/** The dev F1 (with precision and recall) chart, one point per epoch. */
export function devChart(el: HTMLElement): LineChart {
  return lineChart(el, {
    // Fitted to the data, not 0-100: the climb from epoch to epoch is what a student watches.
    title: "Dev F1, precision, recall", xLabel: "epoch", yLabel: "%", xWhole: true,
    series: [
      { label: "F1", color: "#1864ab", points: true },
      { label: "precision", color: "#2b8a3e", points: true },
      { label: "recall", color: "#862e9c", points: true },
    ],
  });
}

/** Fill a dev chart from epoch records. */
export function setDevData(chart: LineChart, epochs: readonly EpochPoint[]): void {
  chart.setData(epochs.map((e) => e.epoch), [epochs.map((e) => e.dev_f1), epochs.map((e) => e.dev_precision), epochs.map((e) => e.dev_recall)]);
}
