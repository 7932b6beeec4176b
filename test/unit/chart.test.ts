import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { barChart, formatCompact, lineChart, writeChart } from '../../bench/lib/chart.ts';

/** The text of every <text> element: titles, axis titles, tick labels, legend entries, value labels. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
}

/** Vega describes every mark for screen readers: `x: 10; y: 4; series: emulator`. */
function markLabels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1] as string);
}

/** A standalone SVG document that parses as XML and never prints a NaN or Infinity. */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<?xml')).toBe(true);
  expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
  expect(XMLValidator.validate(svg)).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity/);
}

const latency = {
  title: 'Delivery latency by fan-out',
  xLabel: 'subscribers',
  yLabel: 'p99 latency (ms)',
  note: 'arm64, 2 cores · 2026-11-23',
  series: [
    {
      name: 'emulator',
      points: [
        { x: 10, y: 4 },
        { x: 100, y: 9 },
        { x: 1000, y: 40 },
        { x: 10000, y: 310 },
      ],
    },
    {
      name: 'kafka fan-out',
      points: [
        { x: 10, y: 12 },
        { x: 100, y: 15 },
        { x: 1000, y: 33 },
        { x: 10000, y: 120 },
      ],
    },
  ],
};

describe('lineChart', () => {
  it('has the title, note, axis titles, a legend entry per series and every point', async () => {
    for (const scales of [{}, { logX: true, logY: true }]) {
      const svg = await lineChart({ ...latency, ...scales });
      expectWellFormed(svg);
      expect(texts(svg)).toEqual(
        expect.arrayContaining([latency.title, latency.note, 'subscribers', 'p99 latency (ms)', 'emulator']),
      );
      expect(texts(svg)).toContain('kafka fan-out');
      const points = markLabels(svg);
      for (const s of latency.series) {
        for (const p of s.points) {
          expect(points).toContain(`subscribers: ${p.x}; p99 latency (ms): ${p.y}; series: ${s.name}`);
        }
      }
    }
  });

  it('labels a log axis at powers of ten in compact form', async () => {
    const labels = texts(await lineChart({ ...latency, logX: true }));
    expect(labels).toEqual(expect.arrayContaining(['10', '100', '1k', '10k']));
    expect(labels).not.toContain('2k');
  });

  it('skips non-finite points and, on a log axis, values ≤ 0, and says so', async () => {
    const svg = await lineChart({
      ...latency,
      logY: true,
      series: [
        {
          name: 'gaps',
          points: [
            { x: 1, y: 5 },
            { x: 2, y: Number.NaN },
            { x: 3, y: 0 },
            { x: 4, y: 8 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    expect(svg).toContain(
      `${latency.note} · 1 point ≤ 0 not drawn (log scale) · 1 non-numeric point skipped`,
    );
  });

  it('draws an empty chart that says so', async () => {
    for (const logY of [false, true]) {
      const svg = await lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [], logY });
      expectWellFormed(svg);
      expect(texts(svg)).toContain('no data');
    }
  });
});

describe('barChart', () => {
  const spec = {
    title: 'Module init',
    yLabel: 'ms',
    groups: [
      {
        label: 'Connect',
        bars: [
          { name: 'init', value: 92.5 },
          { name: 'with source maps', value: 100.4 },
        ],
      },
      {
        label: 'Fanout',
        bars: [
          { name: 'init', value: 1234 },
          { name: 'with source maps', value: 1500 },
        ],
      },
    ],
  };

  it('has the title, y-axis title, group labels, a legend entry per bar name and each value on its bar', async () => {
    for (const logY of [false, true]) {
      const svg = await barChart({ ...spec, logY });
      expectWellFormed(svg);
      expect(texts(svg)).toEqual(
        expect.arrayContaining(['Module init', 'ms', 'Connect', 'Fanout', 'init', 'with source maps']),
      );
      expect(texts(svg)).toEqual(expect.arrayContaining(['92.5', '100', '1.23k', '1.5k']));
      const bars = markLabels(svg).filter((l) => l.startsWith('group: '));
      expect(bars).toContain('group: Connect; ms: 92.5; name: init');
      expect(bars).toContain('group: Fanout; ms: 1500; name: with source maps');
    }
  });

  it('leaves out what it cannot draw and says so', async () => {
    const svg = await barChart({
      ...spec,
      logY: true,
      note: 'local',
      groups: [
        {
          label: 'g',
          bars: [
            { name: 'a', value: 0 },
            { name: 'b', value: Number.NaN },
            { name: 'c', value: 3 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    expect(svg).toContain('local · 1 value ≤ 0 not drawn (log scale) · 1 non-numeric value skipped');
    for (const groups of [[], [{ label: 'g', bars: [] }]]) {
      const empty = await barChart({ title: 'empty', yLabel: 'y', groups, logY: true });
      expectWellFormed(empty);
      expect(texts(empty)).toContain('no data');
    }
  });
});

describe('formatCompact', () => {
  it('keeps three significant digits with k, M, B suffixes', () => {
    expect([0, 0.42, 35, 999, 1234, 999_960, 3_500_000, 2e9].map(formatCompact)).toEqual([
      '0',
      '0.42',
      '35',
      '999',
      '1.23k',
      '1M',
      '3.5M',
      '2B',
    ]);
    expect([Number.NaN, Number.POSITIVE_INFINITY, -1500].map(formatCompact)).toEqual(['n/a', '∞', '-1.5k']);
  });
});

describe('writeChart', () => {
  it('creates the folder and writes the document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-'));
    try {
      const file = join(dir, 'nested', 'latency.svg');
      const svg = await lineChart(latency);
      writeChart(file, svg);
      expect(readFileSync(file, 'utf8')).toBe(svg);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
