import { describe, expect, it } from 'vitest';

import { agentRows, formatAge, formatRunsInFlight, GONE_SHOWN_FOR_S } from '../src/agentrows';
import { Agent } from '../src/types';

function agent(id: string, lastSeen: number, live: boolean): Agent {
  return { id, host: `host-${id}`, labels: [], last_seen: lastSeen, runs_in_flight: 0, live, managed: false };
}

describe('how long ago an agent was seen', () => {
  it('reads in the largest whole unit', () => {
    expect(formatAge(3.7)).toBe('3 s ago');
    expect(formatAge(125)).toBe('2 min ago');
    expect(formatAge(2 * 3600 + 59 * 60)).toBe('2 h ago');
    expect(formatAge(3 * 86400)).toBe('3 d ago');
  });

  it('is never in the future when clocks disagree a little', () => {
    expect(formatAge(-0.4)).toBe('0 s ago');
  });

  it('is measured on the server clock plus the time since its answer, not on this browser clock', () => {
    const { rows } = agentRows([agent('a', 1000, true)], 1002, 5);
    expect(rows[0].age).toBe(7);
  });
});

describe('the agents listed', () => {
  it('put live agents first in their order, then the gone ones most recently seen first', () => {
    const agents = [agent('old', 900, false), agent('live1', 999, true), agent('recent', 990, false), agent('live2', 998, true)];
    expect(agentRows(agents, 1000, 0).rows.map(row => row.agent.id)).toEqual(['live1', 'live2', 'recent', 'old']);
  });

  it('leave out agents gone for long, counting them', () => {
    const now = 100_000;
    const agents = [agent('live', now, true), agent('gone-long-ago', now - GONE_SHOWN_FOR_S - 1, false)];
    const shown = agentRows(agents, now, 0);
    expect(shown.rows.map(row => row.agent.id)).toEqual(['live']);
    expect(shown.olderGone).toBe(1);
  });
});

describe('runs in flight', () => {
  it('read as a phrase', () => {
    expect(formatRunsInFlight(0)).toBe('no runs in flight');
    expect(formatRunsInFlight(1)).toBe('1 run in flight');
    expect(formatRunsInFlight(3)).toBe('3 runs in flight');
  });
});
