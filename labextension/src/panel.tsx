/**
 * The "Flows" left-sidebar panel: projects, their flows, each flow's recent
 * runs with state badges. Each flow has a version picker (its runs and the
 * Run button follow the version picked) and pages through older runs; a
 * Scheduled run says why it waits, and the header how many agents are live
 * (with none, a Start button when this server may start its agent), with a
 * list of the agents (host, labels, last seen, runs in flight). It
 * reloads every 2 s while a shown run is active (every 10 s otherwise, to
 * pick up runs started elsewhere).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { AgentsList } from './agents';
import { StateBadge } from './badge';
import { FlowsClient } from './client';
import { elapsed, formatDuration, formatTimestamp, shortRunName } from './format';
import { FlowGroup, groupVersions, loadOlderRuns, mergeRunPages, RunList } from './paging';
import { usePolling } from './polling';
import { isActive } from './states';
import { AgentList, Flow, FlowRun, ManagedAgentStatus, Project } from './types';
import { flowsIcon } from './icons';
import { ScheduleLine } from './schedule';

export const ACTIVE_REFRESH_MS = 2000;
export const IDLE_REFRESH_MS = 10000;
/** Runs shown per flow at first, and added by each "Older runs". */
export const RUNS_PER_PAGE = 5;

export interface PanelActions {
  openRun(runId: string): void;
  runFlow(flow: Flow): Promise<void>;
  /** Pause (true) or resume a flow's schedule; the panel reloads after. */
  pauseSchedule?(flow: Flow, pause: boolean): Promise<void>;
}

interface FlowNode {
  group: FlowGroup;
  /** The version shown and run: the one picked, else the latest. */
  flow: Flow;
  runs: RunList;
}

interface ProjectNode {
  project: Project;
  flows: FlowNode[];
}

/** What was picked for a flow (by version group): a version, and the older runs of it loaded so far. */
interface FlowChoice {
  versionId: string;
  older: RunList | null;
}

type Choices = Map<string, FlowChoice>;

async function loadFlow(client: FlowsClient, group: FlowGroup, choice: FlowChoice | undefined): Promise<FlowNode> {
  const flow = group.versions.find(version => version.id === choice?.versionId) ?? group.latest;
  const newest = await client.listFlowRuns({ flow_id: flow.id, limit: RUNS_PER_PAGE });
  return { group, flow, runs: mergeRunPages(newest, choice?.versionId === flow.id ? choice.older : null) };
}

async function loadTree(client: FlowsClient, choices: Choices): Promise<ProjectNode[]> {
  const [projects, flows] = await Promise.all([client.listProjects(), client.listFlows(undefined, true)]);
  const nodes = await Promise.all(
    groupVersions(flows).map(group => loadFlow(client, group, choices.get(group.latest.version_group_id)))
  );
  return projects.map(project => ({ project, flows: nodes.filter(node => node.flow.project_name === project.name) }));
}

/** What the panel can do to a flow besides the app's actions: pick a version, load older runs. */
interface FlowControls {
  pickVersion(node: FlowNode, versionId: string): void;
  loadOlder(node: FlowNode): Promise<void>;
}

function RunItem(props: { run: FlowRun; actions: PanelActions }): JSX.Element {
  const { run } = props;
  const duration = formatDuration(elapsed(run.start_time, run.end_time, Date.now() / 1000));
  return (
    <li className="jp-FlowsPanel-run" data-run-id={run.id} data-state={run.state} data-testid="flow-run-item">
      <button
        className="jp-FlowsPanel-runButton"
        title={`Open run ${run.name} (${run.state})`}
        onClick={() => props.actions.openRun(run.id)}
      >
        <StateBadge state={run.state} />
        <span className="jp-FlowsPanel-runName">{shortRunName(run.name, run.flow_name)}</span>
        <span className="jp-FlowsPanel-runMeta">
          {duration ||
            (run.state === 'Scheduled' && run.scheduled_start_time
              ? `at ${formatTimestamp(run.scheduled_start_time)}`
              : formatTimestamp(run.created))}
        </span>
      </button>
      {run.waiting_reason && (
        <div className="jp-FlowsPanel-waiting" data-testid="run-waiting-reason">
          Waiting: {run.waiting_reason}
        </div>
      )}
      {run.infrastructure && (
        <div className="jp-FlowsPanel-infrastructure" data-testid="run-infrastructure" title="Where its agent runs it">
          {run.infrastructure}
        </div>
      )}
    </li>
  );
}

function VersionPicker(props: { node: FlowNode; controls: FlowControls }): JSX.Element {
  const { node } = props;
  if (node.group.versions.length < 2) {
    return <>v{node.flow.version}</>;
  }
  return (
    <select
      className="jp-FlowsPanel-versionPicker"
      data-testid="flow-version-picker"
      title="The version whose runs are shown and which Run starts"
      value={node.flow.id}
      onChange={event => props.controls.pickVersion(node, event.target.value)}
    >
      {node.group.versions.map(version => (
        <option key={version.id} value={version.id}>
          v{version.version}
          {version.archived ? ' (archived)' : ''}
        </option>
      ))}
    </select>
  );
}

function FlowItem(props: { node: FlowNode; actions: PanelActions; controls: FlowControls }): JSX.Element {
  const { node } = props;
  const { flow, runs } = node;
  const [loading, setLoading] = React.useState(false);
  const loadOlder = async () => {
    setLoading(true);
    try {
      await props.controls.loadOlder(node);
    } finally {
      setLoading(false);
    }
  };
  const runTitle = flow.archived
    ? `v${flow.version} is archived: only the latest version (v${node.group.latest.version}) can run`
    : `Start a run of ${flow.name} v${flow.version}`;
  return (
    <div className="jp-FlowsPanel-flow" data-flow-name={flow.name} data-flow-id={flow.id} data-testid="flow-item">
      <div className="jp-FlowsPanel-flowHeader">
        <span className="jp-FlowsPanel-flowName">{flow.name}</span>
        <span className="jp-FlowsPanel-flowMeta" title={`${node.group.versions.length} version(s) registered`}>
          <VersionPicker node={node} controls={props.controls} />
          {flow.storage_kind ? ` · ${flow.storage_kind}` : ''}
        </span>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-FlowsPanel-runFlow"
          data-testid="run-flow-button"
          title={runTitle}
          disabled={flow.archived}
          onClick={() => void props.actions.runFlow(flow)}
        >
          Run
        </button>
      </div>
      {node.group.latest.schedule && (
        <ScheduleLine
          schedule={node.group.latest.schedule}
          nextRun={node.group.latest.next_run}
          onToggle={pause => props.actions.pauseSchedule?.(node.group.latest, pause) ?? Promise.resolve()}
        />
      )}
      {runs.runs.length ? (
        <ul className="jp-FlowsPanel-runs">
          {runs.runs.map(run => (
            <RunItem key={run.id} run={run} actions={props.actions} />
          ))}
        </ul>
      ) : (
        <div className="jp-FlowsPanel-empty">No runs of v{flow.version} yet.</div>
      )}
      {runs.hasMore && (
        <button
          className="jp-FlowsPanel-olderRuns"
          data-testid="older-runs"
          disabled={loading}
          onClick={() => void loadOlder()}
        >
          {loading ? 'Loading…' : 'Older runs'}
        </button>
      )}
    </div>
  );
}

function ProjectItem(props: { node: ProjectNode; actions: PanelActions; controls: FlowControls }): JSX.Element {
  const [open, setOpen] = React.useState(true);
  const { project, flows } = props.node;
  return (
    <section className="jp-FlowsPanel-project" data-project-name={project.name} data-testid="project-item">
      <button className="jp-FlowsPanel-projectHeader" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span className="jp-FlowsPanel-caret">{open ? '▾' : '▸'}</span>
        <span className="jp-FlowsPanel-projectName">{project.name}</span>
        <span className="jp-FlowsPanel-count">{flows.length}</span>
      </button>
      {open &&
        (flows.length ? (
          flows.map(node => (
            <FlowItem key={node.group.latest.version_group_id} node={node} actions={props.actions} controls={props.controls} />
          ))
        ) : (
          <div className="jp-FlowsPanel-empty">No flows registered in this project.</div>
        ))}
    </section>
  );
}

/**
 * How many agents are live; with none, why runs wait and a Start button when
 * this server may start its agent; a managed agent that crashed says so, when
 * it restarts, and shows its log.
 */
function AgentsStatus(props: { list: AgentList; client: FlowsClient; onChange: () => void }): JSX.Element {
  const { agents, managed_agent: managed } = props.list;
  const live = agents.filter(agent => agent.live);
  const [failure, setFailure] = React.useState<string | null>(null);
  const title = live
    .map(agent => `${agent.host} [${agent.labels.join(', ')}]: ${agent.runs_in_flight} run(s)${agent.managed ? ' (this server)' : ''}`)
    .join('\n');
  const start = async () => {
    try {
      await props.client.startAgent();
      setFailure(null);
    } catch (e) {
      setFailure((e as Error).message);
    }
    props.onChange();
  };
  const mine = agents.find(agent => agent.managed && agent.id === managed?.agent_id) ?? null;
  return (
    <div className="jp-FlowsPanel-agents" data-testid="agents-status" data-live={live.length} title={title}>
      {live.length ? (
        `${live.length} agent${live.length === 1 ? '' : 's'} running`
      ) : (
        <>
          No agent is running{managed?.can_start ? ': ' : '; runs wait until one starts.'}
          {managed?.can_start && (
            <button className="jp-mod-styled jp-FlowsPanel-startAgent" data-testid="start-agent" onClick={start}>
              Start one
            </button>
          )}
        </>
      )}
      {managed?.problem && (
        <div className="jp-FlowsPanel-agentProblem" data-testid="managed-agent-problem">
          {managedAgentTrouble(managed)}
          {managed.problem}
        </div>
      )}
      {mine && <AgentLogButton client={props.client} agentId={mine.id} />}
      {failure && <div className="jp-FlowsPanel-agentProblem">{failure}</div>}
    </div>
  );
}

/** What the crashes of the managed agent mean now: restarting soon, or restarted. */
function managedAgentTrouble(managed: ManagedAgentStatus): string {
  if (!managed.crashes) {
    return '';
  }
  if (managed.running) {
    return 'The agent this server runs was restarted after a crash: ';
  }
  const when = managed.restart_in !== null ? `; restarting in ${Math.ceil(managed.restart_in)} s` : '';
  return `The agent this server runs crashed ${managed.crashes} time(s) in a row${when}: `;
}

function AgentLogButton(props: { client: FlowsClient; agentId: string }): JSX.Element {
  const show = async () => {
    let text: string;
    try {
      text = await props.client.agentLog(props.agentId);
    } catch (e) {
      text = (e as Error).message;
    }
    await showDialog({
      title: `Log of agent ${props.agentId}`,
      body: <pre className="jp-FlowsPanel-agentLog" data-testid="agent-log">{text}</pre>,
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
  };
  return (
    <button className="jp-FlowsPanel-agentLogButton" data-testid="agent-log-button" title="The log of the agent this server runs" onClick={show}>
      Log
    </button>
  );
}

function FlowsPanelView(props: {
  client: FlowsClient;
  actions: PanelActions;
  refreshed: ISignal<FlowsPanel, void>;
  isVisible: () => boolean;
}): JSX.Element {
  const [tree, setTree] = React.useState<ProjectNode[] | null>(null);
  const [agents, setAgents] = React.useState<{ list: AgentList; receivedAt: number } | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [trigger, setTrigger] = React.useState(0);
  const choices = React.useRef<Choices>(new Map());
  const controls: FlowControls = {
    pickVersion: (node, versionId) => {
      choices.current.set(node.group.latest.version_group_id, { versionId, older: null });
      setTrigger(t => t + 1);
    },
    loadOlder: async node => {
      const groupId = node.group.latest.version_group_id;
      const older = choices.current.get(groupId)?.older ?? null;
      try {
        const loaded = await loadOlderRuns(
          (offset, limit) => props.client.listFlowRuns({ flow_id: node.flow.id, offset, limit }),
          node.runs,
          older,
          RUNS_PER_PAGE
        );
        choices.current.set(groupId, { versionId: node.flow.id, older: loaded });
        setTrigger(t => t + 1);
      } catch (e) {
        setError((e as Error).message);
      }
    }
  };

  React.useEffect(() => {
    const onRefresh = () => setTrigger(t => t + 1);
    props.refreshed.connect(onRefresh);
    return () => {
      props.refreshed.disconnect(onRefresh);
    };
  }, [props.refreshed]);

  usePolling(
    async () => {
      if (!props.isVisible()) {
        return false; // a collapsed sidebar asks nothing; showing it again reloads at once
      }
      try {
        const [loaded, listed] = await Promise.all([loadTree(props.client, choices.current), props.client.agentList()]);
        setTree(loaded);
        setAgents({ list: listed, receivedAt: Date.now() });
        setError(null);
        return loaded.some(node => node.flows.some(f => f.runs.runs.some(run => isActive(run.state))));
      } catch (e) {
        setError((e as Error).message);
        return false;
      }
    },
    ACTIVE_REFRESH_MS,
    IDLE_REFRESH_MS,
    trigger
  );

  return (
    <div className="jp-FlowsPanel-body">
      <div className="jp-FlowsPanel-header">
        <flowsIcon.react tag="span" className="jp-FlowsPanel-icon" />
        <h2 className="jp-FlowsPanel-title">Flows</h2>
        <button className="jp-FlowsPanel-refresh" title="Refresh" onClick={() => setTrigger(t => t + 1)}>
          ⟳
        </button>
      </div>
      {agents && <AgentsStatus list={agents.list} client={props.client} onChange={() => setTrigger(t => t + 1)} />}
      {agents && <AgentsList list={agents.list} receivedAt={agents.receivedAt} />}
      {error && (
        <div className="jp-FlowsPanel-error" data-testid="flows-panel-error">
          {error}
        </div>
      )}
      {tree === null && !error && <div className="jp-FlowsPanel-empty">Loading…</div>}
      {tree !== null && tree.length === 0 && (
        <div className="jp-FlowsPanel-empty">
          No projects yet. Register a flow with <code>flow.register(project_name=...)</code> or run a notebook as a flow.
        </div>
      )}
      {tree?.map(node => (
        <ProjectItem key={node.project.id} node={node} actions={props.actions} controls={controls} />
      ))}
    </div>
  );
}

export class FlowsPanel extends ReactWidget {
  private readonly _refreshed = new Signal<FlowsPanel, void>(this);

  constructor(
    private readonly client: FlowsClient,
    private readonly actions: PanelActions
  ) {
    super();
    this.id = 'jupyter-flows-panel';
    this.addClass('jp-FlowsPanel');
    this.title.icon = flowsIcon;
    this.title.caption = 'Flows';
    this.node.dataset.testid = 'flows-panel';
  }

  /** Reload now (after this front end started or cancelled a run). */
  refresh(): void {
    this._refreshed.emit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.refresh();
  }

  render(): JSX.Element {
    return (
      <FlowsPanelView
        client={this.client}
        actions={this.actions}
        refreshed={this._refreshed}
        isVisible={() => this.isVisible}
      />
    );
  }
}
