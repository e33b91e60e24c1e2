import { describe, expect, it } from 'vitest';

import { describeAttempt, runAttempts, StateRecord } from '../src/attempts';

const at = (state: string, timestamp: number): StateRecord => ({ state, message: null, timestamp });

describe('a run history', () => {
  it('has one attempt until the run is scheduled again', () => {
    const history = ['Scheduled', 'Submitted', 'Running', 'Failed'].map(at);
    expect(runAttempts(history).map(describeAttempt)).toEqual(['Scheduled → Submitted → Running → Failed']);
  });

  it('starts a new attempt at each restart', () => {
    const history = ['Scheduled', 'Submitted', 'Running', 'Failed', 'Scheduled', 'Submitted', 'Running', 'Success'].map(at);
    expect(runAttempts(history).map(describeAttempt)).toEqual([
      'Scheduled → Submitted → Running → Failed',
      'Scheduled → Submitted → Running → Success'
    ]);
  });

  it('that begins elsewhere than Scheduled still makes an attempt', () => {
    expect(runAttempts(['Running', 'Success'].map(at))).toHaveLength(1);
    expect(runAttempts([])).toEqual([]);
  });
});
