/**
 * Script of the HTML training report (bundled with uPlot into one file that
 * the report inlines): draws the curves from the log embedded in the page.
 */
import { devChart, lossChart, setDevData, type EpochPoint, type LineChart } from "./charts.js";

declare global {
  interface Window {
    /** The report's charts, for tests and the curious. */
    lstmNerCharts?: LineChart[];
  }
}

function draw(): void {
  const data = JSON.parse(document.getElementById("report-data")!.textContent!) as EpochPoint[];
  const loss = lossChart(document.getElementById("loss-chart")!);
  loss.setData(data.map((e) => e.epoch), [data.map((e) => e.loss)]);
  const charts = [loss];
  if (data.some((e) => e.dev_f1 !== null)) {
    const dev = devChart(document.getElementById("dev-chart")!);
    setDevData(dev, data);
    charts.push(dev);
  }
  window.lstmNerCharts = charts;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
else draw();
