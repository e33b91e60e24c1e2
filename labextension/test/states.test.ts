import { describe, expect, it } from 'vitest';

import { isActive, luminance, stateColour, stateTextColour, STATE_COLOURS, UNKNOWN_STATE_COLOUR } from '../src/states';

describe('state badges', () => {
  it('colour each state as the Prefect UI does', () => {
    expect(STATE_COLOURS).toEqual({
      Scheduled: '#ffab00',
      Submitted: '#fdd835',
      Running: '#00b0ff',
      Paused: '#99a8e8',
      Success: '#28a745',
      Failed: '#dc3545',
      Cancelled: '#607d8b',
      TriggerFailed: '#c42800',
      TimedOut: '#fb8c00',
      Mapped: '#97c8a1',
      Skipped: '#9e9e9e',
      Cached: '#ffa500'
    });
    expect(stateColour('Running')).toBe('#00b0ff');
  });

  it('grey out a state they do not know, or none', () => {
    expect(stateColour('Resuming')).toBe(UNKNOWN_STATE_COLOUR);
    expect(stateColour(undefined)).toBe(UNKNOWN_STATE_COLOUR);
    expect(stateColour(null)).toBe(UNKNOWN_STATE_COLOUR);
  });

  it('write dark text on light badges and light text on dark ones', () => {
    expect(stateTextColour('Submitted')).toBe('#000000');
    expect(stateTextColour('Scheduled')).toBe('#000000');
    expect(stateTextColour('Failed')).toBe('#ffffff');
    expect(stateTextColour('TriggerFailed')).toBe('#ffffff');
    expect(stateTextColour('Success')).toBe('#ffffff');
    expect(stateTextColour('Running')).toBe('#000000');
    expect(stateTextColour('Mapped')).toBe('#000000');
    expect(stateTextColour('Cached')).toBe('#000000');
  });

  it('measure luminance on the WCAG scale', () => {
    expect(luminance('#000000')).toBe(0);
    expect(luminance('#ffffff')).toBeCloseTo(1, 10);
    expect(() => luminance('green')).toThrow(/expected a colour like #28a745, got "green"/);
  });

  it('treat scheduled, submitted and running runs as active and finished ones as not', () => {
    expect(['Scheduled', 'Submitted', 'Running'].every(isActive)).toBe(true);
    expect(['Success', 'Failed', 'Cancelled', 'Mapped', 'Paused'].some(isActive)).toBe(false);
    expect(isActive(undefined)).toBe(false);
  });
});
