import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, formatCompact, lineChart, writeChart } from '../../bench/lib/chart.ts';

/** Opening tags of one element name, e.g. every `<polyline …>`. */
function tags(svg: string, name: string): string[] {
  return svg.match(new RegExp(`<${name}\\b[^>]*>`, 'g')) ?? [];
}

function attr(tag: string, name: string): string | undefined {
  return tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
}

function polylinePoints(svg: string): { x: number; y: number }[][] {
  return tags(svg, 'polyline').map((tag) =>
    (attr(tag, 'points') ?? '').split(' ').map((pair) => {
      const [x, y] = pair.split(',').map(Number);
      return { x: x as number, y: y as number };
    }),
  );
}

/** Every chart must parse as XML and never print a NaN or Infinity coordinate. */
function expectWellFormed(svg: string): void {
  expect(XMLValidator.validate(svg)).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity/);
  expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
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
  it('is a standalone SVG with title, note, axis labels, legend and one polyline per series', () => {
    const svg = lineChart(latency);
    expectWellFormed(svg);
    expect(svg).toContain('Delivery latency by fan-out');
    expect(svg).toContain('arm64, 2 cores · 2026-11-23');
    expect(svg).toContain('>subscribers<');
    expect(svg).toContain('>p99 latency (ms)<');
    expect(svg).toContain('>emulator<');
    expect(svg).toContain('>kafka fan-out<');
    expect(polylinePoints(svg)).toHaveLength(2);
    const widths = [attr(tags(svg, 'svg')[0] ?? '', 'width'), attr(tags(svg, 'svg')[0] ?? '', 'height')];
    expect(widths).toEqual(['760', '440']);
  });

  it('draws larger y higher and larger x further right', () => {
    for (const scales of [{}, { logX: true }, { logY: true }, { logX: true, logY: true }]) {
      const svg = lineChart({ ...latency, ...scales });
      expectWellFormed(svg);
      for (const line of polylinePoints(svg)) {
        expect(line).toHaveLength(4);
        for (let i = 1; i < line.length; i++) {
          const [previous, current] = [line[i - 1], line[i]] as [
            { x: number; y: number },
            { x: number; y: number },
          ];
          expect(current.x).toBeGreaterThan(previous.x);
          expect(current.y).toBeLessThan(previous.y);
        }
      }
    }
  });

  it('sorts points by x so the line does not zigzag', () => {
    const svg = lineChart({
      ...latency,
      series: [
        {
          name: 'shuffled',
          points: [
            { x: 3, y: 30 },
            { x: 1, y: 10 },
            { x: 2, y: 20 },
          ],
        },
      ],
    });
    const [line] = polylinePoints(svg);
    expect(line?.map((p) => p.x)).toEqual([...(line ?? [])].map((p) => p.x).sort((a, b) => a - b));
  });

  it('spaces powers of ten evenly on log axes and labels them compactly', () => {
    const svg = lineChart({
      title: 'log',
      xLabel: 'x',
      yLabel: 'y',
      logX: true,
      logY: true,
      series: [
        {
          name: 'decades',
          points: [
            { x: 1, y: 1 },
            { x: 10, y: 10 },
            { x: 100, y: 100 },
            { x: 1000, y: 1000 },
            { x: 10000, y: 10000 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    const [line] = polylinePoints(svg) as [{ x: number; y: number }[]];
    const xSteps = line.slice(1).map((p, i) => p.x - (line[i] as { x: number }).x);
    const ySteps = line.slice(1).map((p, i) => p.y - (line[i] as { y: number }).y);
    for (const step of xSteps) expect(step).toBeCloseTo(xSteps[0] as number, 0);
    for (const step of ySteps) expect(step).toBeCloseTo(ySteps[0] as number, 0);
    for (const label of ['>1<', '>10<', '>100<', '>1k<', '>10k<']) expect(svg).toContain(label);
  });

  it('labels 2 and 5 between powers of ten on short log axes', () => {
    const svg = lineChart({
      title: 'short',
      xLabel: 'x',
      yLabel: 'y',
      logY: true,
      series: [
        {
          name: 's',
          points: [
            { x: 0, y: 1.5 },
            { x: 1, y: 70 },
          ],
        },
      ],
    });
    for (const label of ['>1<', '>2<', '>5<', '>10<', '>20<', '>50<', '>100<']) expect(svg).toContain(label);
  });

  it('clamps y ≤ 0 on a log axis below the data and says so in the note', () => {
    const svg = lineChart({
      ...latency,
      logY: true,
      series: [
        {
          name: 'with zero',
          points: [
            { x: 1, y: 0 },
            { x: 2, y: 5 },
            { x: 3, y: 50 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    expect(svg).toMatch(/1 y value ≤ 0 drawn at 0\.1 \(log scale\)/);
    const [line] = polylinePoints(svg) as [{ x: number; y: number }[]];
    // The clamped zero sits lowest, below the real value 5.
    expect(line[0]?.y).toBeGreaterThan(line[1]?.y as number);
  });

  it('skips NaN points', () => {
    const svg = lineChart({
      ...latency,
      series: [
        {
          name: 'gappy',
          points: [
            { x: 1, y: 1 },
            { x: 2, y: Number.NaN },
            { x: Number.NaN, y: 3 },
            { x: 4, y: 4 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    expect(polylinePoints(svg)[0]).toHaveLength(2);
    expect(svg).toContain('2 non-numeric points skipped');
  });

  it('draws a single point as a marker without a line', () => {
    const svg = lineChart({ ...latency, series: [{ name: 'one', points: [{ x: 5, y: 7 }] }] });
    expectWellFormed(svg);
    expect(tags(svg, 'polyline')).toHaveLength(0);
    expect(tags(svg, 'circle').length).toBeGreaterThanOrEqual(1);
  });

  it('does not throw on empty input', () => {
    for (const series of [[], [{ name: 'nothing yet', points: [] }]]) {
      for (const scales of [{}, { logX: true, logY: true }]) {
        const svg = lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series, ...scales });
        expectWellFormed(svg);
        expect(svg).toContain('no data');
      }
    }
  });

  it('escapes special characters in every text', () => {
    const svg = lineChart({
      title: 'p99 < 10 ms & "fast"',
      xLabel: "clients' <count>",
      yLabel: 'ms & more',
      note: '<script>alert(1)</script>',
      series: [{ name: 'a < b & c', points: latency.series[0]?.points ?? [] }],
    });
    expectWellFormed(svg);
    expect(svg).toContain('p99 &lt; 10 ms &amp; &quot;fast&quot;');
    expect(svg).toContain('clients&apos; &lt;count&gt;');
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).not.toContain('<script>');
  });
});

describe('barChart', () => {
  const spec = {
    title: 'Cost per million events',
    yLabel: 'USD',
    note: 'us-east-1 list prices',
    groups: [
      {
        label: '1 KB',
        bars: [
          { name: 'API Gateway', value: 1200 },
          { name: 'Lambda', value: 35 },
          { name: 'DynamoDB', value: 0.42 },
        ],
      },
      {
        label: '40 KB',
        bars: [
          { name: 'API Gateway', value: 2400 },
          { name: 'Lambda', value: 36 },
        ],
      },
    ],
  };

  it('is a standalone SVG with bars, compact value labels, group labels and a legend', () => {
    const svg = barChart(spec);
    expectWellFormed(svg);
    expect(svg).toContain('Cost per million events');
    expect(svg).toContain('>USD<');
    for (const name of ['API Gateway', 'Lambda', 'DynamoDB', '1 KB', '40 KB'])
      expect(svg).toContain(`>${name}<`);
    for (const label of ['>1.2k<', '>2.4k<', '>35<', '>36<', '>0.42<']) expect(svg).toContain(label);
    expect(tags(svg, 'rect').filter((t) => attr(t, 'class') === 'bar')).toHaveLength(5);
  });

  it('draws a larger value as a taller bar reaching higher', () => {
    for (const logY of [false, true]) {
      const svg = barChart({ ...spec, logY });
      expectWellFormed(svg);
      const bars = tags(svg, 'rect')
        .filter((t) => attr(t, 'class') === 'bar')
        .map((t) => ({
          value: Number(attr(t, 'data-value')),
          y: Number(attr(t, 'y')),
          height: Number(attr(t, 'height')),
        }))
        .sort((a, b) => a.value - b.value);
      for (let i = 1; i < bars.length; i++) {
        const [lower, higher] = [bars[i - 1], bars[i]] as [(typeof bars)[0], (typeof bars)[0]];
        expect(higher.y).toBeLessThan(lower.y);
        expect(higher.height).toBeGreaterThan(lower.height);
      }
    }
  });

  it('clamps zero on a log axis and says so', () => {
    const svg = barChart({
      ...spec,
      logY: true,
      groups: [{ label: 'g', bars: [{ name: 'zero', value: 0 }] }],
    });
    expectWellFormed(svg);
    expect(svg).toContain('≤ 0 drawn at');
  });

  it('handles negative values on a linear axis', () => {
    const svg = barChart({
      title: 'delta',
      yLabel: '%',
      groups: [
        {
          label: 'g',
          bars: [
            { name: 'up', value: 5 },
            { name: 'down', value: -3 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    expect(svg).toContain('>-3<');
  });

  it('does not throw on empty input and escapes names', () => {
    expectWellFormed(barChart({ title: 'empty', yLabel: 'y', groups: [] }));
    expectWellFormed(
      barChart({ title: 'empty', yLabel: 'y', groups: [{ label: 'g', bars: [] }], logY: true }),
    );
    const svg = barChart({
      title: 'A & B',
      yLabel: '<y>',
      groups: [{ label: 'g<1>', bars: [{ name: 'x & "y"', value: Number.NaN }] }],
    });
    expectWellFormed(svg);
    expect(svg).toContain('x &amp; &quot;y&quot;');
    expect(svg).toContain('g&lt;1&gt;');
    expect(svg).toContain('no data');
  });
});

describe('formatCompact', () => {
  it('keeps three significant digits and a unit suffix', () => {
    expect(formatCompact(1200)).toBe('1.2k');
    expect(formatCompact(35)).toBe('35');
    expect(formatCompact(0.42)).toBe('0.42');
    expect(formatCompact(0.0042)).toBe('0.0042');
    expect(formatCompact(12_345)).toBe('12.3k');
    expect(formatCompact(3_500_000)).toBe('3.5M');
    expect(formatCompact(999.96)).toBe('1k');
    expect(formatCompact(999_960)).toBe('1M');
    expect(formatCompact(-1500)).toBe('-1.5k');
    expect(formatCompact(0)).toBe('0');
    expect(formatCompact(Number.NaN)).toBe('n/a');
  });
});

describe('escapeXml', () => {
  it('escapes markup and drops characters XML cannot hold', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(escapeXml('bell\u0007')).toBe('bell');
  });
});

describe('writeChart', () => {
  it('creates the folder and writes the SVG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-'));
    try {
      const file = join(dir, 'nested', 'deeper', 'latency.svg');
      const svg = lineChart(latency);
      writeChart(file, svg);
      expect(readFileSync(file, 'utf8')).toBe(svg);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
