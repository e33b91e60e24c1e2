/**
 * Reading the API's pages: log lines after a cursor, a flow's runs page by
 * page, and a flow's versions. Pure functions over fetchers (no JupyterLab
 * imports) so that they are unit-tested in node.
 */

import { Flow, FlowRun, FlowRunPage, LogLine, LogPage } from './types';

/** Log lines a run view keeps; older ones are dropped so a run with millions of lines cannot fill the tab. */
export const MAX_LOG_LINES = 20000;
/** Pages read in one refresh; a run with more lines is read on by the next refresh, which comes at once. */
export const MAX_LOG_PAGES_PER_REFRESH = 10;

export interface NewLogLines {
  lines: LogLine[];
  /** The cursor to pass as `after` next time. */
  lastId: number | null;
  /** Lines remain after these: refresh again at once. */
  more: boolean;
}

/** Follows `last_id` from `after` until `has_more` is false (or `maxPages` pages were read). */
export async function readNewLogLines(
  fetchPage: (after: number | null) => Promise<LogPage>,
  after: number | null,
  maxPages: number = MAX_LOG_PAGES_PER_REFRESH
): Promise<NewLogLines> {
  const lines: LogLine[] = [];
  let cursor = after;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await fetchPage(cursor);
    lines.push(...page.logs);
    cursor = page.last_id;
    if (!page.has_more) {
      return { lines, lastId: cursor, more: false };
    }
  }
  return { lines, lastId: cursor, more: true };
}

export interface KeptLines {
  lines: LogLine[];
  /** How many lines were dropped so far, oldest first. */
  dropped: number;
}

/** `kept` with `added` appended, keeping the newest `max` lines and counting what was dropped. */
export function keepNewest(kept: KeptLines, added: LogLine[], max: number = MAX_LOG_LINES): KeptLines {
  if (!added.length) {
    return kept;
  }
  const all = kept.lines.concat(added);
  const over = Math.max(0, all.length - max);
  return { lines: over ? all.slice(over) : all, dropped: kept.dropped + over };
}

export interface RunList {
  runs: FlowRun[];
  hasMore: boolean;
}

/**
 * The newest page, fetched again on every refresh, followed by older runs
 * loaded earlier with `offset`. A run that moved from one to the other (as
 * new runs arrived) is listed once, where the newest page has it.
 */
export function mergeRunPages(newest: FlowRunPage, older: RunList | null): RunList {
  if (!older) {
    return { runs: newest.flow_runs, hasMore: newest.has_more };
  }
  const seen = new Set(newest.flow_runs.map(run => run.id));
  return { runs: newest.flow_runs.concat(older.runs.filter(run => !seen.has(run.id))), hasMore: older.hasMore };
}

/** The runs after `list` (`offset` = how many it has), appended to the older runs already loaded. */
export async function loadOlderRuns(
  fetchPage: (offset: number, limit: number) => Promise<FlowRunPage>,
  list: RunList,
  older: RunList | null,
  pageSize: number
): Promise<RunList> {
  const page = await fetchPage(list.runs.length, pageSize);
  const known = new Set(list.runs.map(run => run.id));
  const added = page.flow_runs.filter(run => !known.has(run.id));
  return { runs: (older?.runs ?? []).concat(added), hasMore: page.has_more };
}

export interface FlowGroup {
  /** The version runs start from by default: the one not archived (the newest when all are). */
  latest: Flow;
  /** Every version, newest first. */
  versions: Flow[];
}

/**
 * Flow versions (from `GET flows?archived=true`) grouped by version group,
 * in the listing's order; a group whose versions are all archived is left
 * out, as `GET flows` leaves it out.
 */
export function groupVersions(flows: Flow[]): FlowGroup[] {
  const groups = new Map<string, Flow[]>();
  for (const flow of flows) {
    const group = groups.get(flow.version_group_id) ?? [];
    group.push(flow);
    groups.set(flow.version_group_id, group);
  }
  const result: FlowGroup[] = [];
  for (const versions of groups.values()) {
    const sorted = [...versions].sort((a, b) => b.version - a.version);
    const latest = sorted.find(flow => !flow.archived);
    if (latest) {
      result.push({ latest, versions: sorted });
    }
  }
  return result;
}
