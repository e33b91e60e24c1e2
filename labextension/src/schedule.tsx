/**
 * Schedules in the Lab: the "Schedule" part of the "Run notebook as flow"
 * dialog (presets that become a cron expression or an interval, a raw cron
 * field, a time zone defaulting to the browser's), and the schedule line of a
 * flow in the Flows panel (what it is, its next run, pause or resume).
 *
 * The plain-language echo and every check come from the server
 * (`GET schedules/preview`): the dialog shows what the backend will store, in
 * the backend's words, as the user types.
 */

import * as React from 'react';

import { formatTimestamp } from './format';
import { FlowSchedule, SchedulePreview } from './types';

export type SchedulePreset = 'minutes' | 'hourly' | 'daily' | 'weekdays' | 'weekly' | 'cron';

export interface ScheduleChoice {
  preset: SchedulePreset;
  /** For "every N minutes". */
  minutes: string;
  /** HH:MM for the daily, weekday and weekly presets. */
  time: string;
  /** 0 (Sunday) to 6, for "weekly on". */
  weekday: string;
  cron: string;
  timezone: string;
}

/** What the API's schedule endpoints take: a cron expression or an interval, and the zone. */
export interface ScheduleRequest {
  cron?: string;
  every?: string;
  timezone: string;
}

export const PRESETS: Array<[SchedulePreset, string]> = [
  ['minutes', 'Every N minutes'],
  ['hourly', 'Hourly'],
  ['daily', 'Daily at'],
  ['weekdays', 'Weekdays at'],
  ['weekly', 'Weekly on'],
  ['cron', 'Cron expression']
];

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function defaultScheduleChoice(): ScheduleChoice {
  return { preset: 'weekdays', minutes: '15', time: '06:00', weekday: '1', cron: '0 6 * * 1-5', timezone: browserTimeZone() };
}

/** The request a choice stands for. Times that do not read as HH:MM go through as they are: the server names them. */
export function scheduleRequest(choice: ScheduleChoice): ScheduleRequest {
  const timezone = choice.timezone.trim();
  const [hour, minute] = choice.time.split(':').map(part => String(Number(part)));
  switch (choice.preset) {
    case 'minutes':
      return { every: `${choice.minutes.trim()}m`, timezone };
    case 'hourly':
      return { cron: '0 * * * *', timezone };
    case 'daily':
      return { cron: `${minute} ${hour} * * *`, timezone };
    case 'weekdays':
      return { cron: `${minute} ${hour} * * 1-5`, timezone };
    case 'weekly':
      return { cron: `${minute} ${hour} * * ${choice.weekday}`, timezone };
    default:
      return { cron: choice.cron.trim(), timezone };
  }
}

export type PreviewSchedule = (request: ScheduleRequest) => Promise<SchedulePreview>;

/** The schedule inputs with the server's echo under them ("at 06:00, Monday through Friday"), or its refusal. */
export function ScheduleFields(props: {
  initial: ScheduleChoice;
  preview: PreviewSchedule;
  onChange: (choice: ScheduleChoice) => void;
}): JSX.Element {
  const [choice, setChoice] = React.useState(props.initial);
  const [echo, setEcho] = React.useState<{ text: string; error: boolean } | null>(null);
  const update = (next: Partial<ScheduleChoice>) => {
    const merged = { ...choice, ...next };
    setChoice(merged);
    props.onChange(merged);
  };
  React.useEffect(() => {
    let current = true;
    const timer = window.setTimeout(() => {
      props
        .preview(scheduleRequest(choice))
        .then(answer => {
          if (current) {
            const next = answer.next.length ? `; next: ${answer.next[0].replace('T', ' ')}` : '';
            setEcho({ text: `Runs ${answer.description}${next}`, error: false });
          }
        })
        .catch(error => current && setEcho({ text: (error as Error).message, error: true }));
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [choice]);
  const timeInput = (
    <input
      className="jp-mod-styled"
      type="time"
      data-testid="schedule-time"
      value={choice.time}
      onChange={e => update({ time: e.target.value })}
    />
  );
  return (
    <div className="jp-FlowsSchedule" data-testid="schedule-fields">
      <div className="jp-FlowsParametersForm-field">
        <label htmlFor="jp-flows-schedule-preset">Repeat</label>
        <select
          id="jp-flows-schedule-preset"
          className="jp-mod-styled"
          data-testid="schedule-preset"
          value={choice.preset}
          onChange={e => update({ preset: e.target.value as SchedulePreset })}
        >
          {PRESETS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        {choice.preset === 'minutes' && (
          <input
            className="jp-mod-styled"
            type="number"
            min="1"
            data-testid="schedule-minutes"
            value={choice.minutes}
            onChange={e => update({ minutes: e.target.value })}
          />
        )}
        {choice.preset === 'weekly' && (
          <select
            className="jp-mod-styled"
            data-testid="schedule-weekday"
            value={choice.weekday}
            onChange={e => update({ weekday: e.target.value })}
          >
            {WEEKDAYS.map((day, index) => (
              <option key={day} value={String(index)}>
                {day}
              </option>
            ))}
          </select>
        )}
        {(choice.preset === 'daily' || choice.preset === 'weekdays' || choice.preset === 'weekly') && timeInput}
        {choice.preset === 'cron' && (
          <input
            className="jp-mod-styled"
            data-testid="schedule-cron"
            placeholder="minute hour day-of-month month day-of-week, e.g. 0 6 * * 1-5"
            value={choice.cron}
            onChange={e => update({ cron: e.target.value })}
          />
        )}
      </div>
      <div className="jp-FlowsParametersForm-field">
        <label htmlFor="jp-flows-schedule-timezone">Time zone</label>
        <input
          id="jp-flows-schedule-timezone"
          className="jp-mod-styled"
          data-testid="schedule-timezone"
          value={choice.timezone}
          onChange={e => update({ timezone: e.target.value })}
        />
      </div>
      {echo && (
        <div
          className={echo.error ? 'jp-FlowsParametersForm-error' : 'jp-FlowsSchedule-echo'}
          data-testid={echo.error ? 'schedule-error' : 'schedule-echo'}
        >
          {echo.text}
        </div>
      )}
    </div>
  );
}

/** A flow's schedule in the panel: what it is, the next run (or "paused"), and a pause/resume button. */
export function ScheduleLine(props: {
  schedule: FlowSchedule;
  nextRun: number | null | undefined;
  onToggle: (pause: boolean) => Promise<void>;
}): JSX.Element {
  const { schedule } = props;
  const [busy, setBusy] = React.useState(false);
  const toggle = async () => {
    setBusy(true);
    try {
      await props.onToggle(!schedule.paused);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jp-FlowsPanel-schedule" data-testid="flow-schedule" data-paused={schedule.paused}>
      <span className="jp-FlowsPanel-scheduleText" title={schedule.description}>
        ⏲ {schedule.description}
      </span>
      <span className="jp-FlowsPanel-nextRun" data-testid="flow-next-run">
        {schedule.paused ? 'paused' : props.nextRun ? `next ${formatTimestamp(props.nextRun)}` : 'no more runs'}
      </span>
      <button
        className="jp-FlowsPanel-scheduleToggle"
        data-testid="schedule-toggle"
        disabled={busy}
        onClick={() => void toggle()}
      >
        {schedule.paused ? 'Resume' : 'Pause'}
      </button>
    </div>
  );
}
