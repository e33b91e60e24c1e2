import { describe, expect, it } from 'vitest';

import { groupVersions, keepNewest, loadOlderRuns, mergeRunPages, readNewLogLines } from '../src/paging';
import { Flow, FlowRun, FlowRunPage, LogLine, LogPage } from '../src/types';

function line(id: number): LogLine {
  return { id, level: 'INFO', timestamp: id, message: `line ${id}`, task_name: null, task_slug: null, map_index: null };
}

/** A server holding log lines 1..total that answers pages of `pageSize` after a cursor, as the API does. */
function logServer(total: number, pageSize: number) {
  const asked: Array<number | null> = [];
  const fetchPage = async (after: number | null): Promise<LogPage> => {
    asked.push(after);
    const rest = Array.from({ length: total }, (_, i) => line(i + 1)).filter(l => l.id > (after ?? 0));
    const logs = rest.slice(0, pageSize);
    return { logs, last_id: logs.length ? logs[logs.length - 1].id : after, has_more: rest.length > pageSize };
  };
  return { fetchPage, asked };
}

function run(id: string): FlowRun {
  return {
    id, name: id, flow_id: 'f', flow_name: 'flow', flow_version: 1, project_name: 'p', parameters: {}, labels: [],
    state: 'Success', state_message: null, created: 0, start_time: null, end_time: null, output_path: null
  };
}

/** Runs r9 (newest) .. r0, paged with offset and limit as `GET flow-runs` does. */
function runServer(ids: string[]) {
  return async (offset: number, limit: number): Promise<FlowRunPage> => ({
    flow_runs: ids.slice(offset, offset + limit).map(run), limit, offset, has_more: ids.length > offset + limit
  });
}

function flow(id: string, group: string, version: number, archived: boolean): Flow {
  return {
    id, name: group, project_name: 'p', version, version_group_id: group, archived, parameters: [], storage_kind: null,
    run_config_kind: null, executor_kind: null, labels: [], created: 0, versions: []
  };
}

describe('log pages', () => {
  it('follows last_id until has_more is false', async () => {
    const server = logServer(2500, 1000);
    const fresh = await readNewLogLines(server.fetchPage, null);
    expect(fresh.lines.map(l => l.id)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(server.asked).toEqual([null, 1000, 2000]);
    expect(fresh).toMatchObject({ lastId: 2500, more: false });
  });

  it('keeps the cursor when nothing is new', async () => {
    const fresh = await readNewLogLines(logServer(3, 10).fetchPage, 3);
    expect(fresh).toEqual({ lines: [], lastId: 3, more: false });
  });

  it('stops after the page budget of one refresh and says more remain', async () => {
    const server = logServer(50, 10);
    const fresh = await readNewLogLines(server.fetchPage, null, 2);
    expect(fresh.lines).toHaveLength(20);
    expect(fresh).toMatchObject({ lastId: 20, more: true });
  });

  it('keeps the newest lines and counts the dropped ones', () => {
    let kept = keepNewest({ lines: [], dropped: 0 }, [line(1), line(2), line(3)], 4);
    kept = keepNewest(kept, [line(4), line(5), line(6)], 4);
    expect(kept.lines.map(l => l.id)).toEqual([3, 4, 5, 6]);
    expect(kept.dropped).toBe(2);
    expect(keepNewest(kept, [], 4)).toBe(kept);
  });
});

describe('run pages', () => {
  const ids = ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0'];

  it('loads older runs with the offset of what is shown until has_more is false', async () => {
    const fetchPage = runServer(ids);
    let list = mergeRunPages(await fetchPage(0, 4), null);
    expect(list).toMatchObject({ hasMore: true });
    let older = await loadOlderRuns(fetchPage, list, null, 4);
    list = mergeRunPages(await fetchPage(0, 4), older);
    older = await loadOlderRuns(fetchPage, list, older, 4);
    list = mergeRunPages(await fetchPage(0, 4), older);
    expect(list.runs.map(r => r.id)).toEqual(ids);
    expect(list.hasMore).toBe(false);
  });

  it('lists a run once when new runs push it from the newest page into the older ones', async () => {
    const older = await loadOlderRuns(runServer(ids), mergeRunPages(await runServer(ids)(0, 2), null), null, 2);
    const newest = await runServer(['r11', 'r10', ...ids])(0, 4);
    expect(mergeRunPages(newest, older).runs.map(r => r.id)).toEqual(['r11', 'r10', 'r9', 'r8', 'r7', 'r6']);
  });
});

describe('flow versions', () => {
  it('groups versions newest first under the version not archived, leaving out fully archived flows', () => {
    const groups = groupVersions([
      flow('a1', 'a', 1, true), flow('a2', 'a', 2, false), flow('b1', 'b', 1, true), flow('c1', 'c', 1, false)
    ]);
    expect(groups.map(g => [g.latest.id, g.versions.map(v => v.id)])).toEqual([
      ['a2', ['a2', 'a1']],
      ['c1', ['c1']]
    ]);
  });
});
