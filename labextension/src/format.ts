/** How times and durations read in the panel and the run view (epoch seconds in, text out). */

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes - hours * 60} min`;
}

/** Seconds between two epoch times; a run still going is measured up to `now`. */
export function elapsed(start: number | null | undefined, end: number | null | undefined, now: number): number | null {
  if (start === null || start === undefined) {
    return null;
  }
  return Math.max(0, (end ?? now) - start);
}

/** Local date and time of an epoch-seconds timestamp, e.g. `2024-05-01 14:03:07`. */
export function formatTimestamp(epochSeconds: number | null | undefined): string {
  if (epochSeconds === null || epochSeconds === undefined) {
    return '';
  }
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** `12:03:07.250` for a log line. */
export function formatClock(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `hello-flow-341df9f2` shown under flow `hello-flow` reads `341df9f2`; other names stay whole. */
export function shortRunName(runName: string, flowName: string): string {
  const prefix = `${flowName}-`;
  return runName.startsWith(prefix) && runName.length > prefix.length ? runName.slice(prefix.length) : runName;
}
