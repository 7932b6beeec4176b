/**
 * Dependency-free SVG charts for benchmark results: a line chart (linear or log axes) and a grouped
 * bar chart. Each call returns a standalone SVG document that browsers and GitHub render as is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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

const WIDTH = 760;
const HEIGHT = 440;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
// Okabe–Ito: tells apart under the common colour-vision deficiencies; yellow last, it is faint on white.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
// Beyond this many points per series the markers only add clutter and file size; the line stays.
const MAX_MARKERS_PER_SERIES = 200;

/** Escapes text for XML content and attribute values, dropping characters XML 1.0 cannot hold. */
export function escapeXml(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

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

/** Writes an SVG document, creating its folder first. */
export function writeChart(file: string, svg: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
}

interface Tick {
  value: number;
  label: string;
  /** Lighter gridline; used for the 2 and 5 of a log axis. */
  minor: boolean;
}

interface Axis {
  log: boolean;
  min: number;
  max: number;
  ticks: Tick[];
  /** Unlabelled tick marks, e.g. 2…9 between powers of ten. */
  marks: number[];
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Min and max without spreading into Math.min, which overflows the stack on large arrays. */
function extent(values: number[]): [number, number] | undefined {
  if (values.length === 0) return undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function niceStep(span: number, targetTicks: number): number {
  const raw = span / targetTicks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10;
  return nice * magnitude;
}

/** Removes float noise such as 0.30000000000000004. */
function clean(n: number): number {
  return Number(n.toPrecision(12));
}

function linearAxis(values: number[], options: { includeZero: boolean; headroom?: number }): Axis {
  let [lo, hi] = extent(values) ?? [0, 1];
  if (options.includeZero) {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
  }
  if (lo === hi) {
    if (lo === 0) hi = 1;
    else {
      const pad = Math.abs(lo) * 0.5;
      lo -= pad;
      hi += pad;
    }
  }
  hi += (hi - lo) * (options.headroom ?? 0);
  const step = niceStep(hi - lo, 5);
  const min = clean(Math.floor(lo / step) * step);
  const max = clean(Math.ceil(hi / step) * step);
  const tickValues: number[] = [];
  for (let i = 0; ; i++) {
    const value = clean(min + i * step);
    if (value > max + step / 2) break;
    tickValues.push(value);
  }
  let labels = tickValues.map(formatCompact);
  // Three significant digits can merge neighbours (1000.1, 1000.2): then print as many decimals as the step needs.
  if (new Set(labels).size < labels.length) {
    const decimals = Math.max(0, -Math.floor(Math.log10(step)));
    labels = tickValues.map((v) => v.toFixed(decimals));
  }
  return {
    log: false,
    min,
    max,
    ticks: tickValues.map((value, i) => ({ value, label: labels[i] ?? '', minor: false })),
    marks: [],
  };
}

/**
 * Powers of ten around the positive values; `roomBelow` adds a decade under the data so that clamped
 * values (0 or negative) sit apart from real ones.
 */
function logAxis(positives: number[], roomBelow: boolean): Axis {
  const [lo, hi] = extent(positives) ?? [1, 10];
  // The epsilon keeps log10(1000) = 2.9999999999999996 from adding a whole empty decade.
  let lowExp = Math.floor(Math.log10(lo) + 1e-9);
  let highExp = Math.ceil(Math.log10(hi) - 1e-9);
  if (roomBelow) lowExp -= 1;
  if (highExp <= lowExp) highExp = lowExp + 1;
  const decades = highExp - lowExp;
  const stride = Math.max(1, Math.ceil(decades / 8));
  const ticks: Tick[] = [];
  const marks: number[] = [];
  for (let e = lowExp; e <= highExp; e++) {
    const power = 10 ** e;
    if ((e - lowExp) % stride === 0) ticks.push({ value: power, label: formatCompact(power), minor: false });
    if (e === highExp) break;
    if (decades <= 2) {
      for (const k of [2, 5]) ticks.push({ value: k * power, label: formatCompact(k * power), minor: true });
    } else if (decades <= 6) {
      for (let k = 2; k <= 9; k++) marks.push(k * power);
    }
  }
  return { log: true, min: 10 ** lowExp, max: 10 ** highExp, ticks, marks };
}

/** Where `value` falls between pixel `from` (axis min) and pixel `to` (axis max). */
function place(axis: Axis, value: number, from: number, to: number): number {
  const t = axis.log
    ? (Math.log10(value) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
    : (value - axis.min) / (axis.max - axis.min);
  return from + t * (to - from);
}

function px(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function colorOf(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/** Legend width from the longest name (about 6.5 px a character at 12 px). */
function frameFor(legendNames: string[], hasNote: boolean): Frame {
  const longest = legendNames.reduce((m, n) => Math.max(m, n.length), 0);
  const legendWidth = legendNames.length === 0 ? 24 : Math.min(260, Math.max(120, longest * 6.5 + 44));
  return { left: 78, right: WIDTH - legendWidth, top: hasNote ? 74 : 60, bottom: HEIGHT - 62 };
}

function svgDocument(title: string, notes: string[], body: string[]): string {
  const safeTitle = escapeXml(title);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${escapeXml(FONT)}" font-size="12" role="img" aria-label="${safeTitle}">`,
    `<title>${safeTitle}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="600" fill="#111111">${safeTitle}</text>`,
    ...(notes.length > 0
      ? [
          `<text class="note" x="16" y="45" font-size="11" fill="#555555">${escapeXml(notes.join(' · '))}</text>`,
        ]
      : []),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function yAxisParts(axis: Axis, frame: Frame, label: string): string[] {
  const parts: string[] = ['<g class="y-axis">'];
  for (const tick of axis.ticks) {
    const y = px(place(axis, tick.value, frame.bottom, frame.top));
    parts.push(
      `<line x1="${frame.left}" x2="${px(frame.right)}" y1="${y}" y2="${y}" stroke="${tick.minor ? '#f0f0f0' : '#e0e0e0'}"/>`,
      `<line x1="${frame.left - 4}" x2="${frame.left}" y1="${y}" y2="${y}" stroke="#333333"/>`,
      `<text x="${frame.left - 7}" y="${y}" dy="0.32em" text-anchor="end" font-size="11" fill="${tick.minor ? '#777777' : '#333333'}">${escapeXml(tick.label)}</text>`,
    );
  }
  for (const mark of axis.marks) {
    const y = px(place(axis, mark, frame.bottom, frame.top));
    parts.push(`<line x1="${frame.left - 2}" x2="${frame.left}" y1="${y}" y2="${y}" stroke="#333333"/>`);
  }
  const middle = px((frame.top + frame.bottom) / 2);
  parts.push(
    `<line x1="${frame.left}" x2="${frame.left}" y1="${frame.top}" y2="${frame.bottom}" stroke="#333333"/>`,
    `<text class="axis-label" transform="translate(18 ${middle}) rotate(-90)" text-anchor="middle" fill="#222222">${escapeXml(label)}</text>`,
    '</g>',
  );
  return parts;
}

function xAxisParts(axis: Axis, frame: Frame, label: string): string[] {
  const parts: string[] = ['<g class="x-axis">'];
  for (const tick of axis.ticks) {
    const x = px(place(axis, tick.value, frame.left, frame.right));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${frame.top}" y2="${frame.bottom}" stroke="${tick.minor ? '#f0f0f0' : '#e0e0e0'}"/>`,
      `<line x1="${x}" x2="${x}" y1="${frame.bottom}" y2="${frame.bottom + 4}" stroke="#333333"/>`,
      `<text x="${x}" y="${frame.bottom + 17}" text-anchor="middle" font-size="11" fill="${tick.minor ? '#777777' : '#333333'}">${escapeXml(tick.label)}</text>`,
    );
  }
  for (const mark of axis.marks) {
    const x = px(place(axis, mark, frame.left, frame.right));
    parts.push(`<line x1="${x}" x2="${x}" y1="${frame.bottom}" y2="${frame.bottom + 2}" stroke="#333333"/>`);
  }
  parts.push(
    `<line x1="${frame.left}" x2="${px(frame.right)}" y1="${frame.bottom}" y2="${frame.bottom}" stroke="#333333"/>`,
    `<text class="axis-label" x="${px((frame.left + frame.right) / 2)}" y="${HEIGHT - 16}" text-anchor="middle" fill="#222222">${escapeXml(label)}</text>`,
    '</g>',
  );
  return parts;
}

/** Colour and shape both vary, so series stay apart in greyscale prints too. */
function marker(index: number, cx: number, cy: number, tooltip: string): string {
  const color = colorOf(index);
  const title = `<title>${escapeXml(tooltip)}</title>`;
  const x = px(cx);
  const y = px(cy);
  switch ((index + Math.floor(index / PALETTE.length)) % 4) {
    case 0:
      return `<circle cx="${x}" cy="${y}" r="3.5" fill="${color}">${title}</circle>`;
    case 1:
      return `<rect x="${px(cx - 3.2)}" y="${px(cy - 3.2)}" width="6.4" height="6.4" fill="${color}">${title}</rect>`;
    case 2:
      return `<polygon points="${px(cx)},${px(cy - 4.2)} ${px(cx + 4)},${px(cy + 3)} ${px(cx - 4)},${px(cy + 3)}" fill="${color}">${title}</polygon>`;
    default:
      return `<polygon points="${px(cx)},${px(cy - 4.5)} ${px(cx + 4.5)},${px(cy)} ${px(cx)},${px(cy + 4.5)} ${px(cx - 4.5)},${px(cy)}" fill="${color}">${title}</polygon>`;
  }
}

function legendParts(names: string[], frame: Frame, kind: 'line' | 'bar'): string[] {
  if (names.length === 0) return [];
  const parts: string[] = ['<g class="legend">'];
  const x = frame.right + 16;
  names.forEach((name, i) => {
    const y = frame.top + 6 + i * 18;
    if (kind === 'line') {
      parts.push(
        `<line x1="${px(x)}" x2="${px(x + 22)}" y1="${y}" y2="${y}" stroke="${colorOf(i)}" stroke-width="2"/>`,
        marker(i, x + 11, y, name),
      );
    } else {
      parts.push(`<rect x="${px(x + 5)}" y="${y - 6}" width="12" height="12" fill="${colorOf(i)}"/>`);
    }
    parts.push(`<text x="${px(x + 28)}" y="${y}" dy="0.32em" fill="#222222">${escapeXml(name)}</text>`);
  });
  parts.push('</g>');
  return parts;
}

function noDataParts(frame: Frame): string[] {
  return [
    `<text x="${px((frame.left + frame.right) / 2)}" y="${px((frame.top + frame.bottom) / 2)}" text-anchor="middle" fill="#888888">no data</text>`,
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One polyline with point markers per series; non-finite points are skipped, values ≤ 0 on a log axis clamped. */
export function lineChart(spec: LineChartSpec): string {
  let skipped = 0;
  const series = spec.series.map((s) => ({
    name: s.name,
    points: s.points
      .filter((p) => {
        const finite = Number.isFinite(p.x) && Number.isFinite(p.y);
        if (!finite) skipped++;
        return finite;
      })
      // A line through unsorted x would zigzag.
      .sort((a, b) => a.x - b.x),
  }));
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const clampedX = spec.logX ? xs.filter((v) => v <= 0).length : 0;
  const clampedY = spec.logY ? ys.filter((v) => v <= 0).length : 0;
  const xAxis = spec.logX
    ? logAxis(
        xs.filter((v) => v > 0),
        clampedX > 0,
      )
    : linearAxis(xs, { includeZero: false });
  // Zero included so that small differences are not drawn as large ones.
  const yAxis = spec.logY
    ? logAxis(
        ys.filter((v) => v > 0),
        clampedY > 0,
      )
    : linearAxis(ys, { includeZero: true });

  const notes = spec.note ? [spec.note] : [];
  if (clampedX > 0)
    notes.push(`${plural(clampedX, 'x value')} ≤ 0 drawn at ${formatCompact(xAxis.min)} (log scale)`);
  if (clampedY > 0)
    notes.push(`${plural(clampedY, 'y value')} ≤ 0 drawn at ${formatCompact(yAxis.min)} (log scale)`);
  if (skipped > 0) notes.push(`${plural(skipped, 'non-numeric point')} skipped`);

  const names = series.map((s) => s.name);
  const frame = frameFor(names, notes.length > 0);
  const toX = (x: number) => place(xAxis, xAxis.log ? Math.max(x, xAxis.min) : x, frame.left, frame.right);
  const toY = (y: number) => place(yAxis, yAxis.log ? Math.max(y, yAxis.min) : y, frame.bottom, frame.top);

  const body = [...yAxisParts(yAxis, frame, spec.yLabel), ...xAxisParts(xAxis, frame, spec.xLabel)];
  series.forEach((s, i) => {
    body.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    if (s.points.length >= 2) {
      const coords = s.points.map((p) => `${px(toX(p.x))},${px(toY(p.y))}`).join(' ');
      body.push(
        `<polyline points="${coords}" fill="none" stroke="${colorOf(i)}" stroke-width="2" stroke-linejoin="round"/>`,
      );
    }
    if (s.points.length <= MAX_MARKERS_PER_SERIES) {
      for (const p of s.points) {
        body.push(marker(i, toX(p.x), toY(p.y), `${s.name}: ${formatCompact(p.x)}, ${formatCompact(p.y)}`));
      }
    }
    body.push('</g>');
  });
  if (points.length === 0) body.push(...noDataParts(frame));
  body.push(...legendParts(names, frame, 'line'));
  return svgDocument(spec.title, notes, body);
}

/** Bars grouped by label, one colour per bar name, each with its value on top. */
export function barChart(spec: BarChartSpec): string {
  const names: string[] = [];
  for (const group of spec.groups) {
    for (const bar of group.bars) if (!names.includes(bar.name)) names.push(bar.name);
  }
  const values = spec.groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v));
  const skipped = spec.groups.reduce((n, g) => n + g.bars.length, 0) - values.length;
  const clamped = spec.logY ? values.filter((v) => v <= 0).length : 0;
  const yAxis = spec.logY
    ? logAxis(
        values.filter((v) => v > 0),
        clamped > 0,
      )
    : // Headroom keeps the value label of the tallest bar inside the plot.
      linearAxis(values, { includeZero: true, headroom: 0.08 });

  const notes = spec.note ? [spec.note] : [];
  if (clamped > 0)
    notes.push(`${plural(clamped, 'value')} ≤ 0 drawn at ${formatCompact(yAxis.min)} (log scale)`);
  if (skipped > 0) notes.push(`${plural(skipped, 'non-numeric value')} skipped`);

  const frame = frameFor(names, notes.length > 0);
  const toY = (v: number) => place(yAxis, yAxis.log ? Math.max(v, yAxis.min) : v, frame.bottom, frame.top);
  const baseline = toY(yAxis.log ? yAxis.min : Math.min(Math.max(0, yAxis.min), yAxis.max));

  const body = yAxisParts(yAxis, frame, spec.yLabel);
  body.push(
    `<line x1="${frame.left}" x2="${px(frame.right)}" y1="${px(baseline)}" y2="${px(baseline)}" stroke="#333333"/>`,
  );
  const groupWidth = (frame.right - frame.left) / Math.max(1, spec.groups.length);
  const slotWidth = (groupWidth * 0.8) / Math.max(1, names.length);
  spec.groups.forEach((group, gi) => {
    const groupLeft = frame.left + gi * groupWidth;
    body.push(`<g class="group" data-group="${escapeXml(group.label)}">`);
    for (const bar of group.bars) {
      if (!Number.isFinite(bar.value)) continue;
      const slot = names.indexOf(bar.name);
      const x = groupLeft + groupWidth * 0.1 + slot * slotWidth + slotWidth * 0.05;
      const width = slotWidth * 0.9;
      const end = toY(bar.value);
      const top = Math.min(end, baseline);
      const height = Math.abs(baseline - end);
      const label = formatCompact(bar.value);
      body.push(
        `<rect class="bar" data-name="${escapeXml(bar.name)}" data-value="${bar.value}" x="${px(x)}" y="${px(top)}" width="${px(width)}" height="${px(height)}" fill="${colorOf(slot)}"><title>${escapeXml(`${group.label} · ${bar.name}: ${label}`)}</title></rect>`,
      );
      const center = x + width / 2;
      const below = bar.value < 0 && !yAxis.log;
      // About 6 px a character at 10 px: narrower bars get their label turned upright.
      if (label.length * 6 > width + 8) {
        const y = below ? end + 4 : end - 4;
        body.push(
          `<text class="value" transform="translate(${px(center)} ${px(y)}) rotate(-90)" dy="0.32em" text-anchor="${below ? 'end' : 'start'}" font-size="10" fill="#333333">${escapeXml(label)}</text>`,
        );
      } else {
        const y = below ? end + 12 : end - 4;
        body.push(
          `<text class="value" x="${px(center)}" y="${px(y)}" text-anchor="middle" font-size="10" fill="#333333">${escapeXml(label)}</text>`,
        );
      }
    }
    const center = px(groupLeft + groupWidth / 2);
    if (group.label.length * 6.2 > groupWidth - 4) {
      body.push(
        `<text transform="translate(${center} ${frame.bottom + 14}) rotate(-30)" text-anchor="end" font-size="11" fill="#222222">${escapeXml(group.label)}</text>`,
      );
    } else {
      body.push(
        `<text x="${center}" y="${frame.bottom + 18}" text-anchor="middle" font-size="11" fill="#222222">${escapeXml(group.label)}</text>`,
      );
    }
    body.push('</g>');
  });
  if (values.length === 0) body.push(...noDataParts(frame));
  body.push(...legendParts(names, frame, 'bar'));
  return svgDocument(spec.title, notes, body);
}
