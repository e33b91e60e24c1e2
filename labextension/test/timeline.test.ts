import { describe, expect, it } from 'vitest';

import {
  formatOffset,
  layoutTimeline,
  orderTaskRuns,
  peakConcurrency,
  taskRunLabel,
  tickStep,
  TimedTaskRun
} from '../src/timeline';

function run(slug: string, mapIndex: number, start: number | null, end: number | null, state = 'Success'): TimedTaskRun {
  return { task_slug: slug, task_name: slug.replace(/-\d+$/, ''), map_index: mapIndex, state, start_time: start, end_time: end };
}

describe('timeline layout', () => {
  it('puts task runs on one axis from the first start to the last end', () => {
    const layout = layoutTimeline([run('people-1', -1, 100, 101), run('say_hello-1', 0, 101, 110)], { now: 500 });
    expect(layout.start).toBe(100);
    expect(layout.end).toBe(110);
    expect(layout.bars.map(b => [b.label, b.left, b.width])).toEqual([
      ['people', 0, 0.1],
      ['say_hello[0]', 0.1, 0.9]
    ]);
  });

  it('shows overlapping mapped children in their own rows over the same stretch', () => {
    const layout = layoutTimeline(
      [run('say_hello-1', 2, 0, 10), run('say_hello-1', 0, 0, 10), run('say_hello-1', 1, 0, 10), run('report-1', -1, 10, 20)],
      { now: 100 }
    );
    expect(layout.bars.map(b => [b.row, b.label, b.left, b.width])).toEqual([
      [0, 'say_hello[0]', 0, 0.5],
      [1, 'say_hello[1]', 0, 0.5],
      [2, 'say_hello[2]', 0, 0.5],
      [3, 'report', 0.5, 0.5]
    ]);
    expect(layout.peakConcurrency).toBe(3);
  });

  it('counts the children of a map, not their parent, as running in parallel', () => {
    const layout = layoutTimeline(
      [run('say_hello-1', -1, 0, 2, 'Mapped'), run('say_hello-1', 0, 0, 1), run('say_hello-1', 1, 1, 2)],
      { now: 5 }
    );
    expect(layout.bars).toHaveLength(3);
    expect(layout.peakConcurrency).toBe(1);
  });

  it('draws a task still running up to now', () => {
    const layout = layoutTimeline([run('a-1', -1, 0, 2), run('b-1', -1, 2, null, 'Running')], { now: 8 });
    const live = layout.bars.find(b => b.label === 'b')!;
    expect(live.live).toBe(true);
    expect(live.left).toBe(0.25);
    expect(live.width).toBe(0.75);
    expect(live.duration).toBe(6);
  });

  it('keeps an instant task visible and inside the axis', () => {
    const layout = layoutTimeline([run('a-1', -1, 0, 10), run('b-1', -1, 10, 10)], { now: 10, minWidth: 0.01 });
    const instant = layout.bars.find(b => b.label === 'b')!;
    expect(instant.width).toBe(0.01);
    expect(instant.left + instant.width).toBeCloseTo(1, 10);
  });

  it('leaves out task runs not started yet and counts them', () => {
    const layout = layoutTimeline([run('a-1', -1, 5, 6), run('b-1', -1, null, null, 'Pending')], { now: 7 });
    expect(layout.bars).toHaveLength(1);
    expect(layout.notShown).toBe(1);
  });

  it('draws at most maxRows rows of a huge map', () => {
    const children = Array.from({ length: 1000 }, (_, i) => run('inc-1', i, i, i + 1));
    const layout = layoutTimeline(children, { now: 2000, maxRows: 50 });
    expect(layout.bars).toHaveLength(50);
    expect(layout.notShown).toBe(950);
    expect(layout.peakConcurrency).toBe(1);
  });

  it('has nothing to draw before any task started', () => {
    const layout = layoutTimeline([run('a-1', -1, null, null, 'Pending')], { now: 3 });
    expect(layout.bars).toEqual([]);
    expect(layout.ticks).toEqual([]);
  });

  it('marks the axis with round ticks from +0s', () => {
    const layout = layoutTimeline([run('a-1', -1, 0, 12)], { now: 12 });
    expect(layout.ticks.map(t => t.label)).toEqual(['+0s', '+5s', '+10s']);
    expect(layout.ticks[1].offset).toBeCloseTo(5 / 12, 10);
  });
});

describe('timeline helpers', () => {
  it('pick the smallest round step giving at most the target number of ticks', () => {
    expect(tickStep(12)).toBe(5);
    expect(tickStep(0.9)).toBe(0.2);
    expect(tickStep(240)).toBe(60);
    expect(tickStep(3 * 86400 * 10, 5)).toBe(6 * 86400);
  });

  it('write offsets in seconds, minutes or hours', () => {
    expect(formatOffset(0)).toBe('+0s');
    expect(formatOffset(0.25)).toBe('+0.25s');
    expect(formatOffset(90)).toBe('+1m30s');
    expect(formatOffset(120)).toBe('+2m');
    expect(formatOffset(5400)).toBe('+1h30m');
  });

  it('count a task ending as another starts as not overlapping', () => {
    expect(peakConcurrency([[0, 1], [1, 2]])).toBe(1);
    expect(peakConcurrency([[0, 2], [1, 3], [1.5, 1.7]])).toBe(3);
    expect(peakConcurrency([])).toBe(0);
  });

  it('label mapped children with their map index', () => {
    expect(taskRunLabel({ task_name: 'say_hello', map_index: 3 })).toBe('say_hello[3]');
    expect(taskRunLabel({ task_name: 'say_hello', map_index: -1 })).toBe('say_hello');
  });
});

describe('task run order', () => {
  it('keeps tasks in recorded order and sorts mapped children by map index', () => {
    const runs = [run('people-1', -1, 0, 1), run('say_hello-1', 1, 1, 2), run('say_hello-1', -1, 1, 3), run('say_hello-1', 0, 2, 3), run('report-1', -1, 3, 4)];
    expect(orderTaskRuns(runs).map(taskRunLabel)).toEqual(['people', 'say_hello', 'say_hello[0]', 'say_hello[1]', 'report']);
  });
});
