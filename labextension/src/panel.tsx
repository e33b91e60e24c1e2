/**
 * The "Flows" left-sidebar panel: projects, their flows, each flow's recent
 * runs with state badges. It reloads every 2 s while a shown run is active
 * (every 10 s otherwise, to pick up runs started elsewhere).
 */

import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { StateBadge } from './badge';
import { FlowsClient } from './client';
import { elapsed, formatDuration, formatTimestamp, shortRunName } from './format';
import { usePolling } from './polling';
import { isActive } from './states';
import { Flow, FlowRun, Project } from './types';
import { flowsIcon } from './icons';

export const ACTIVE_REFRESH_MS = 2000;
export const IDLE_REFRESH_MS = 10000;
/** Runs fetched per project; each flow shows its newest `RUNS_PER_FLOW` of them. */
const RUNS_PER_PROJECT = 50;
const RUNS_PER_FLOW = 5;

export interface PanelActions {
  openRun(runId: string): void;
  runFlow(flow: Flow): Promise<void>;
}

interface ProjectNode {
  project: Project;
  flows: Array<{ flow: Flow; runs: FlowRun[] }>;
}

async function loadTree(client: FlowsClient): Promise<ProjectNode[]> {
  const [projects, flows] = await Promise.all([client.listProjects(), client.listFlows()]);
  const runPages = await Promise.all(
    projects.map(p => client.listFlowRuns({ project: p.name, limit: RUNS_PER_PROJECT }))
  );
  return projects.map((project, i) => ({
    project,
    flows: flows
      .filter(flow => flow.project_name === project.name)
      .map(flow => ({
        flow,
        runs: runPages[i].flow_runs.filter(run => run.flow_name === flow.name).slice(0, RUNS_PER_FLOW)
      }))
  }));
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
        <span className="jp-FlowsPanel-runMeta">{duration || formatTimestamp(run.created)}</span>
      </button>
    </li>
  );
}

function FlowItem(props: { flow: Flow; runs: FlowRun[]; actions: PanelActions }): JSX.Element {
  const { flow, runs } = props;
  return (
    <div className="jp-FlowsPanel-flow" data-flow-name={flow.name} data-flow-id={flow.id} data-testid="flow-item">
      <div className="jp-FlowsPanel-flowHeader">
        <span className="jp-FlowsPanel-flowName">{flow.name}</span>
        <span className="jp-FlowsPanel-flowMeta" title={`${flow.versions.length} version(s) registered`}>
          v{flow.version}
          {flow.storage_kind ? ` · ${flow.storage_kind}` : ''}
        </span>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-FlowsPanel-runFlow"
          data-testid="run-flow-button"
          title={`Start a run of ${flow.name}`}
          onClick={() => void props.actions.runFlow(flow)}
        >
          Run
        </button>
      </div>
      {runs.length ? (
        <ul className="jp-FlowsPanel-runs">
          {runs.map(run => (
            <RunItem key={run.id} run={run} actions={props.actions} />
          ))}
        </ul>
      ) : (
        <div className="jp-FlowsPanel-empty">No runs yet.</div>
      )}
    </div>
  );
}

function ProjectItem(props: { node: ProjectNode; actions: PanelActions }): JSX.Element {
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
          flows.map(({ flow, runs }) => <FlowItem key={flow.id} flow={flow} runs={runs} actions={props.actions} />)
        ) : (
          <div className="jp-FlowsPanel-empty">No flows registered in this project.</div>
        ))}
    </section>
  );
}

function FlowsPanelView(props: {
  client: FlowsClient;
  actions: PanelActions;
  refreshed: ISignal<FlowsPanel, void>;
  isVisible: () => boolean;
}): JSX.Element {
  const [tree, setTree] = React.useState<ProjectNode[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [trigger, setTrigger] = React.useState(0);

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
        const loaded = await loadTree(props.client);
        setTree(loaded);
        setError(null);
        return loaded.some(node => node.flows.some(f => f.runs.some(run => isActive(run.state))));
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
      {tree?.map(node => <ProjectItem key={node.project.id} node={node} actions={props.actions} />)}
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
