/**
 * What the panel's agent list shows, like `jupyter-flows get agents`: pure
 * data work (no JupyterLab imports), unit-tested in node.
 *
 * Ages are read against the server's clock (`now` in `GET agents`) plus the
 * time passed in this browser since that answer, so a browser whose clock is
 * off still reads "3 s ago" for an agent that beat 3 s ago.
 */

import { Agent } from './types';

/** Gone agents stay listed this long after they were last seen, then only count in "N older". */
export const GONE_SHOWN_FOR_S = 15 * 60;

export interface AgentRow {
  agent: Agent;
  /** Seconds since the agent was last seen, by the server's clock. */
  age: number;
}

export interface AgentRows {
  rows: AgentRow[];
  /** Gone agents left out: last seen longer ago than GONE_SHOWN_FOR_S. */
  olderGone: number;
}

/**
 * The agents to list, live ones first (in the order they started), then the
 * recently gone ones, most recently seen first.
 *
 * `serverNow` is the server's clock when it answered, `sinceAnswer` the
 * seconds this browser waited since.
 */
export function agentRows(agents: Agent[], serverNow: number, sinceAnswer: number): AgentRows {
  const now = serverNow + Math.max(0, sinceAnswer);
  const rows = agents.map(agent => ({ agent, age: Math.max(0, now - agent.last_seen) }));
  const live = rows.filter(row => row.agent.live);
  const gone = rows.filter(row => !row.agent.live).sort((a, b) => a.age - b.age);
  const recent = gone.filter(row => row.age <= GONE_SHOWN_FOR_S);
  return { rows: [...live, ...recent], olderGone: gone.length - recent.length };
}

/** `3 s ago`, `4 min ago`, `2 h ago`, `3 d ago`: how long ago an agent was last seen. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  return `${Math.floor(s / 86400)} d ago`;
}

/** `1 run in flight`, `no runs in flight`. */
export function formatRunsInFlight(count: number): string {
  if (!count) {
    return 'no runs in flight';
  }
  return `${count} run${count === 1 ? '' : 's'} in flight`;
}
