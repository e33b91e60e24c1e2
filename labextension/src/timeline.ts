/**
 * Layout of a run's task runs on one shared time axis.
 *
 * Each task run gets its own row, so mapped children that ran at the same
 * time show as bars stacked over the same stretch of the axis. Positions are
 * fractions of the axis (0..1): the view turns them into percentages, and the
 * maths stays testable without a DOM.
 */

export interface TimedTaskRun {
  task_slug: string;
  task_name: string;
  map_index: number;
  state: string;
  start_time: number | null;
  end_time: number | null;
}

export interface TimelineBar {
  key: string;
  label: string;
  state: string;
  row: number;
  /** Start of the bar as a fraction of the axis. */
  left: number;
  /** Length of the bar as a fraction of the axis (at least `minWidth`, so instant tasks stay visible). */
  width: number;
  /** Seconds the task run took (or has taken so far, when `live`). */
  duration: number;
  live: boolean;
}

export interface TimelineTick {
  offset: number;
  label: string;
}

export interface TimelineLayout {
  /** Epoch seconds at the left and right ends of the axis. */
  start: number;
  end: number;
  bars: TimelineBar[];
  ticks: TimelineTick[];
  /** Task runs not drawn: not started yet, or past `maxRows`. */
  notShown: number;
  /** Most task runs that were running at the same moment. */
  peakConcurrency: number;
}

export interface TimelineOptions {
  /** Epoch seconds standing in for the end of task runs still running. */
  now: number;
  minWidth?: number;
  maxRows?: number;
  targetTicks?: number;
}

const TICK_STEPS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
  60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400
];

/**
 * Task runs in the order a reader expects: tasks as the backend lists them
 * (the order they were first recorded), each mapped task's children by map index.
 */
export function orderTaskRuns<T extends { task_slug: string; map_index: number }>(runs: T[]): T[] {
  const firstSeen = new Map<string, number>();
  runs.forEach((run, i) => {
    if (!firstSeen.has(run.task_slug)) {
      firstSeen.set(run.task_slug, i);
    }
  });
  return [...runs].sort(
    (a, b) => (firstSeen.get(a.task_slug) as number) - (firstSeen.get(b.task_slug) as number) || a.map_index - b.map_index
  );
}

export function taskRunLabel(run: { task_name: string; map_index: number }): string {
  return run.map_index >= 0 ? `${run.task_name}[${run.map_index}]` : run.task_name;
}

/** The smallest "round" step that cuts `span` seconds into at most `target` intervals. */
export function tickStep(span: number, target = 5): number {
  for (const step of TICK_STEPS) {
    if (span / step <= target) {
      return step;
    }
  }
  return Math.ceil(span / target / 86400) * 86400;
}

/** `+1.5s`, `+2m`, `+1h30m`: an offset from the start of the axis. */
export function formatOffset(seconds: number): string {
  if (seconds < 60) {
    const rounded = Math.round(seconds * 1000) / 1000;
    return `+${rounded}s`;
  }
  if (seconds < 3600) {
    const minutes = Math.floor(seconds / 60);
    const rest = Math.round(seconds - minutes * 60);
    return rest ? `+${minutes}m${rest}s` : `+${minutes}m`;
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds - hours * 3600) / 60);
  return minutes ? `+${hours}h${minutes}m` : `+${hours}h`;
}

/** Most intervals overlapping at one instant (an interval ending when another starts does not overlap it). */
export function peakConcurrency(intervals: Array<[number, number]>): number {
  const events: Array<[number, number]> = [];
  for (const [start, end] of intervals) {
    events.push([start, 1], [end, -1]);
  }
  // Ends sort before starts at the same instant.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, change] of events) {
    current += change;
    peak = Math.max(peak, current);
  }
  return peak;
}

export function layoutTimeline(runs: TimedTaskRun[], options: TimelineOptions): TimelineLayout {
  const minWidth = options.minWidth ?? 0.004;
  const maxRows = options.maxRows ?? 200;
  const started = runs
    .filter(run => run.start_time !== null && run.start_time !== undefined)
    .map(run => ({ run, start: run.start_time as number, end: run.end_time ?? Math.max(options.now, run.start_time as number) }))
    .sort((a, b) =>
      a.start - b.start || a.run.task_slug.localeCompare(b.run.task_slug) || a.run.map_index - b.run.map_index
    );
  if (started.length === 0) {
    return { start: options.now, end: options.now, bars: [], ticks: [], notShown: runs.length, peakConcurrency: 0 };
  }
  // A mapped task's own run spans its children's: it is drawn, but does not count as running in parallel.
  const mappedParents = new Set(runs.filter(run => run.map_index >= 0).map(run => run.task_slug));
  const start = Math.min(...started.map(s => s.start));
  const end = Math.max(...started.map(s => s.end));
  const span = Math.max(end - start, 0.001);
  const shown = started.slice(0, maxRows);
  const bars = shown.map((item, row) => {
    const width = Math.min(Math.max((item.end - item.start) / span, minWidth), 1);
    // An instant task at the very end keeps its minimum width inside the axis.
    const offset = (item.start - start) / span;
    const left = offset + width > 1 + 1e-9 ? 1 - width : offset;
    return {
      key: `${item.run.task_slug}:${item.run.map_index}`,
      label: taskRunLabel(item.run),
      state: item.run.state,
      row,
      left,
      width,
      duration: item.end - item.start,
      live: item.run.end_time === null || item.run.end_time === undefined
    };
  });
  const step = tickStep(span, options.targetTicks ?? 5);
  const ticks: TimelineTick[] = [];
  for (let i = 0; i * step <= span + 1e-9; i++) {
    ticks.push({ offset: (i * step) / span, label: formatOffset(i * step) });
  }
  return {
    start,
    end: start + span,
    bars,
    ticks,
    notShown: runs.length - shown.length,
    peakConcurrency: peakConcurrency(
      started.filter(s => !mappedParents.has(s.run.task_slug) || s.run.map_index >= 0).map(s => [s.start, s.end])
    )
  };
}
