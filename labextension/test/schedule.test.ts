import { describe, expect, it } from 'vitest';

import { defaultScheduleChoice, scheduleRequest, ScheduleChoice } from '../src/schedule';

const base: ScheduleChoice = { ...defaultScheduleChoice(), timezone: 'Europe/Berlin' };

describe('the schedule presets', () => {
  it('become the cron expression they name, in the chosen zone', () => {
    expect(scheduleRequest({ ...base, preset: 'weekdays', time: '06:00' })).toEqual({
      cron: '0 6 * * 1-5',
      timezone: 'Europe/Berlin'
    });
    expect(scheduleRequest({ ...base, preset: 'daily', time: '18:30' }).cron).toBe('30 18 * * *');
    expect(scheduleRequest({ ...base, preset: 'weekly', time: '07:05', weekday: '0' }).cron).toBe('5 7 * * 0');
    expect(scheduleRequest({ ...base, preset: 'hourly' }).cron).toBe('0 * * * *');
  });

  it('every N minutes is an interval, a raw cron goes through as typed', () => {
    expect(scheduleRequest({ ...base, preset: 'minutes', minutes: '15' })).toEqual({ every: '15m', timezone: 'Europe/Berlin' });
    expect(scheduleRequest({ ...base, preset: 'cron', cron: ' 0 25 * * * ' }).cron).toBe('0 25 * * *');
  });

  it('default to weekdays at 06:00 in the browser zone', () => {
    const choice = defaultScheduleChoice();
    expect(choice.preset).toBe('weekdays');
    expect(choice.timezone.length).toBeGreaterThan(0);
  });
});
