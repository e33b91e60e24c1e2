import { describe, expect, it } from 'vitest';

import { elapsed, formatDuration, shortRunName } from '../src/format';

describe('durations', () => {
  it('read in the unit that suits them', () => {
    expect(formatDuration(0.0421)).toBe('42 ms');
    expect(formatDuration(3.04)).toBe('3.0 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3 h 2 min');
  });

  it('are blank when unknown', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(-1)).toBe('');
  });

  it('of a run still going are measured up to now', () => {
    expect(elapsed(10, null, 25)).toBe(15);
    expect(elapsed(10, 12, 25)).toBe(2);
    expect(elapsed(null, null, 25)).toBeNull();
  });
});

describe('run names under their flow', () => {
  it('drop the flow name they start with', () => {
    expect(shortRunName('hello-flow-341df9f2', 'hello-flow')).toBe('341df9f2');
  });

  it('stay whole when they were given another name', () => {
    expect(shortRunName('nightly', 'hello-flow')).toBe('nightly');
    expect(shortRunName('hello-flow-', 'hello-flow')).toBe('hello-flow-');
  });
});
