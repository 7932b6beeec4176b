/**
 * Benchmark charts as standalone SVG documents (browsers and GitHub render them as they are): a
 * line chart (linear or log axes) and a grouped bar chart, declared in Vega-Lite and rendered by
 * Vega headless (no canvas, no browser).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';

export interface Point {
  x: number;
  y: number;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: { name: string; points: Point[] }[];
  logX?: boolean;
  logY?: boolean;
  /** A small line under the title, e.g. machine and date. */
  note?: string;
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  groups: { label: string; bars: { name: string; value: number }[] }[];
  logY?: boolean;
  note?: string;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
// Okabe–Ito: tells apart under the common colour-vision deficiencies; yellow last, it is faint on white.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
// Colour and shape both vary, so series stay apart in greyscale prints too.
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond'];
// Beyond this many points per series the markers only add clutter and file size; the line stays.
const MAX_MARKERS_PER_SERIES = 200;
const PLOT = { width: 560, height: 300 };

/** Short number for labels: 1.2k, 35, 0.42, 3.5M (three significant digits at most). */
export function formatCompact(n: number): string {
  if (Number.isNaN(n)) return 'n/a';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '-∞';
  if (n === 0) return '0';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
    [1, ''],
  ];
  for (let i = 0; i < units.length; i++) {
    const [size, suffix] = units[i] as [number, string];
    if (abs < size && size !== 1) continue;
    const rounded = Number((abs / size).toPrecision(3));
    const larger = units[i - 1];
    // 999.96 rounds to 1000: say "1k", not "1000".
    if (larger && rounded * size >= larger[0])
      return `${sign}${Number((abs / larger[0]).toPrecision(3))}${larger[1]}`;
    return `${sign}${rounded}${suffix}`;
  }
  return String(n);
}

// Axis labels in the same compact style as the values (Vega's own SI format says 420m for 0.42).
vega.expressionFunction('compact', formatCompact);
const POWER_OF_TEN = 'abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6';
/**
 * A linear axis labels every tick; a log axis only the powers of ten, with their gridlines darker
 * than the 2…9 in between.
 */
const axisOf = (log: boolean | undefined) =>
  log
    ? {
        labelExpr: `${POWER_OF_TEN} ? compact(datum.value) : ""`,
        gridColor: { condition: { test: POWER_OF_TEN, value: '#dddddd' }, value: '#f3f3f3' },
      }
    : { labelExpr: 'compact(datum.value)' };

/** Writes an SVG document, creating its folder first. */
export function writeChart(file: string, svg: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const CONFIG = {
  font: FONT,
  background: '#ffffff',
  title: { anchor: 'start', fontSize: 16, fontWeight: 600, subtitleFontSize: 11, subtitleColor: '#555555' },
  axis: {
    labelFontSize: 11,
    labelLimit: 220,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    gridColor: '#e8e8e8',
  },
  legend: { labelFontSize: 12, labelLimit: 400, title: null },
  view: { stroke: null },
} as const;

/** With nothing to plot, a fixed domain: Vega would otherwise size the chart from ±Infinity. */
function emptyDomain(rows: unknown[], log: boolean | undefined): { domain?: [number, number] } {
  return rows.length ? {} : { domain: log ? [1, 10] : [0, 1] };
}

/**
 * Renders a chart to an SVG document: the title (with the notes under it) and the data rows around
 * `body`, the Vega-Lite mark/encoding (or layer) part of the spec.
 */
async function render(
  title: string,
  notes: string[],
  rows: unknown[],
  body: Record<string, unknown>,
): Promise<string> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    description: title,
    title: notes.length ? { text: title, subtitle: notes.join(' · ') } : { text: title },
    ...PLOT,
    padding: 12,
    config: CONFIG,
    data: { values: rows },
    ...body,
  } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/**
 * One line with point markers per series. Non-finite points are skipped and values ≤ 0 on a log
 * axis left out; the subtitle says how many of each.
 */
export async function lineChart(spec: LineChartSpec): Promise<string> {
  let skipped = 0;
  let leftOut = 0;
  const rows: { series: string; x: number; y: number }[] = [];
  for (const s of spec.series) {
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) skipped++;
      else if ((spec.logX && p.x <= 0) || (spec.logY && p.y <= 0)) leftOut++;
      else rows.push({ series: s.name, x: p.x, y: p.y });
    }
  }
  const notes = spec.note ? [spec.note] : [];
  if (leftOut > 0) notes.push(`${plural(leftOut, 'point')} ≤ 0 not drawn (log scale)`);
  if (skipped > 0) notes.push(`${plural(skipped, 'non-numeric point')} skipped`);
  if (rows.length === 0) notes.push('no data');
  const names = spec.series.map((s) => s.name);
  const markers = spec.series.every((s) => s.points.length <= MAX_MARKERS_PER_SERIES);
  return render(spec.title, notes, rows, {
    mark: { type: 'line', strokeWidth: 2, ...(markers ? { point: { filled: true, size: 40 } } : {}) },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: spec.xLabel,
        // Zero is not forced on x (a run starts where it starts); on y it is, so small differences look small.
        scale: { ...(spec.logX ? { type: 'log' } : { zero: false }), ...emptyDomain(rows, spec.logX) },
        axis: axisOf(spec.logX),
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: spec.yLabel,
        scale: { ...(spec.logY ? { type: 'log' } : { zero: true }), ...emptyDomain(rows, spec.logY) },
        axis: axisOf(spec.logY),
      },
      color: { field: 'series', type: 'nominal', scale: { domain: names, range: PALETTE }, sort: names },
      shape: { field: 'series', type: 'nominal', scale: { domain: names, range: SHAPES }, sort: names },
    },
  });
}

/** Bars grouped by label, one colour per bar name, each with its value on top. */
export async function barChart(spec: BarChartSpec): Promise<string> {
  const names: string[] = [];
  for (const group of spec.groups) {
    for (const bar of group.bars) if (!names.includes(bar.name)) names.push(bar.name);
  }
  let skipped = 0;
  let leftOut = 0;
  const rows: { group: string; name: string; value: number; label: string }[] = [];
  for (const group of spec.groups) {
    for (const bar of group.bars) {
      if (!Number.isFinite(bar.value)) skipped++;
      else if (spec.logY && bar.value <= 0) leftOut++;
      else
        rows.push({ group: group.label, name: bar.name, value: bar.value, label: formatCompact(bar.value) });
    }
  }
  const notes = spec.note ? [spec.note] : [];
  if (leftOut > 0) notes.push(`${plural(leftOut, 'value')} ≤ 0 not drawn (log scale)`);
  if (skipped > 0) notes.push(`${plural(skipped, 'non-numeric value')} skipped`);
  if (rows.length === 0) notes.push('no data');

  const labels = spec.groups.map((g) => g.label);
  const groupWidth = PLOT.width / Math.max(1, labels.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, names.length);
  // About 6 px a character at 10 px: labels wider than their bar (or group) are turned.
  const uprightValues = rows.some((r) => r.label.length * 6 > barWidth + 8);
  const slantedGroups = labels.some((l) => l.length * 6.2 > groupWidth - 4);
  const x = {
    field: 'group',
    type: 'nominal',
    title: null,
    sort: labels,
    scale: { domain: labels, paddingInner: 0.2 },
    axis: { labelAngle: slantedGroups ? -30 : 0, labelFontSize: 11, labelLimit: 240 },
  } as const;
  const xOffset = { field: 'name', type: 'nominal', sort: names, scale: { domain: names } } as const;
  // A log axis has no zero to grow bars from: they start at the power of ten below the smallest value
  // (and the axis ends at the power of ten above the largest).
  const smallest = rows.reduce((m, r) => Math.min(m, r.value), Number.POSITIVE_INFINITY);
  const largest = rows.reduce((m, r) => Math.max(m, r.value), Number.NEGATIVE_INFINITY);
  const logFloor = Number.isFinite(smallest) ? 10 ** Math.floor(Math.log10(smallest) + 1e-9) : 1;
  const logCeiling = Number.isFinite(largest)
    ? 10 ** Math.max(Math.ceil(Math.log10(largest) - 1e-9), Math.log10(logFloor) + 1)
    : 10;
  return render(spec.title, notes, rows, {
    encoding: {
      x,
      xOffset,
      y: {
        field: 'value',
        type: 'quantitative',
        title: spec.yLabel,
        scale: spec.logY
          ? { type: 'log', domain: [logFloor, logCeiling] }
          : { zero: true, ...emptyDomain(rows, false) },
        axis: axisOf(spec.logY),
      },
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          ...(spec.logY ? { y2: { datum: logFloor } } : {}),
          color: { field: 'name', type: 'nominal', scale: { domain: names, range: PALETTE }, sort: names },
        },
      },
      {
        mark: uprightValues
          ? {
              type: 'text',
              angle: 270,
              align: 'left',
              baseline: 'middle',
              dx: 4,
              fontSize: 10,
              color: '#333333',
            }
          : { type: 'text', baseline: 'bottom', dy: -3, fontSize: 10, color: '#333333' },
        encoding: { text: { field: 'label', type: 'nominal' } },
      },
    ],
  });
}
