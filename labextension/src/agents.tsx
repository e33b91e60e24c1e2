/**
 * The panel's list of agents: host, labels, last seen ("3 s ago"), live or
 * gone, and runs in flight, the way `jupyter-flows get agents --all` prints
 * them. Ages tick every second between the panel's reloads.
 */

import * as React from 'react';

import { agentRows, formatAge, formatRunsInFlight } from './agentrows';
import { AgentList } from './types';

const TICK_MS = 1000;

/** Seconds since `since` (a `Date.now()`), re-rendering every second while shown. */
function useSecondsSince(since: number): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), TICK_MS);
    return () => window.clearInterval(timer);
  }, []);
  return Math.max(0, (now - since) / 1000);
}

/** `list` as the server answered it at `receivedAt` (a `Date.now()`). */
export function AgentsList(props: { list: AgentList; receivedAt: number }): JSX.Element | null {
  const sinceAnswer = useSecondsSince(props.receivedAt);
  const serverNow = props.list.now ?? props.receivedAt / 1000;
  const { rows, olderGone } = agentRows(props.list.agents, serverNow, sinceAnswer);
  if (!rows.length && !olderGone) {
    return null;
  }
  return (
    <ul className="jp-FlowsAgents" data-testid="agents-list">
      {rows.map(({ agent, age }) => (
        <li
          key={agent.id}
          className={`jp-FlowsAgents-agent ${agent.live ? 'jp-mod-live' : 'jp-mod-gone'}`}
          data-testid="agent-item"
          data-agent-id={agent.id}
          data-live={String(agent.live)}
          title={`Agent ${agent.id}${agent.managed ? ' (started by this Jupyter server)' : ''}`}
        >
          <span className="jp-FlowsAgents-status" data-testid="agent-status">
            {agent.live ? 'live' : 'gone'}
          </span>
          <span className="jp-FlowsAgents-host" data-testid="agent-host">
            {agent.host}
          </span>
          <span className="jp-FlowsAgents-labels" data-testid="agent-labels">
            {agent.labels.length ? agent.labels.join(', ') : 'no labels'}
          </span>
          <span className="jp-FlowsAgents-seen" data-testid="agent-last-seen" data-age={Math.floor(age)}>
            seen {formatAge(age)}
          </span>
          <span className="jp-FlowsAgents-runs" data-testid="agent-runs" data-runs={agent.runs_in_flight}>
            {formatRunsInFlight(agent.runs_in_flight)}
          </span>
        </li>
      ))}
      {olderGone > 0 && (
        <li className="jp-FlowsAgents-older" data-testid="agents-older-gone">
          and {olderGone} agent{olderGone === 1 ? '' : 's'} gone longer ago (jupyter-flows get agents --all)
        </li>
      )}
    </ul>
  );
}
