/**
 * A flow run in the main area: its state, parameters and output notebook,
 * its history by attempt (a restart from failed adds one), a timeline of its task runs on one time axis, the task-run table and the
 * log. While the run is live the view polls every second, fetching only the
 * log lines after the last one it has (`?after=`), page after page until the
 * server says there are no more; it keeps the newest `MAX_LOG_LINES` lines.
 */

import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { describeAttempt, runAttempts } from './attempts';
import { StateBadge } from './badge';
import { FlowsApiError, FlowsClient } from './client';
import { elapsed, formatClock, formatDuration, formatTimestamp } from './format';
import { keepNewest, KeptLines, MAX_LOG_LINES, readNewLogLines } from './paging';
import { usePolling } from './polling';
import { isActive, stateColour } from './states';
import { layoutTimeline, orderTaskRuns } from './timeline';
import { ChildRun, FlowRunDetail, LogLine, TaskRun } from './types';

export const LIVE_REFRESH_MS = 1000;
/** Rows drawn in the timeline and the table; a huge map shows its first ones and says how many more. */
const MAX_ROWS = 300;

export interface RunViewActions {
  openNotebook(path: string): void;
  runChanged(): void;
  /** The run was (re)loaded: the tab shows its name and state. */
  runLoaded(run: FlowRunDetail): void;
  /** Open another run's view (a parent or child run). */
  openRun?(id: string): void;
}

/** The run that started this one and the runs this one started, each a link to its view. */
function Lineage(props: { run: FlowRunDetail; children: ChildRun[]; actions: RunViewActions }): JSX.Element | null {
  const { run, children, actions } = props;
  const link = (id: string, label: string, testId: string) => (
    <a href="#" data-testid={testId} data-run-id={id} onClick={event => {
      event.preventDefault();
      actions.openRun?.(id);
    }}>
      {label}
    </a>
  );
  if (!run.parent_flow_run_id && !children.length) {
    return null;
  }
  return (
    <>
      {run.parent_flow_run_id && (
        <>
          <dt>Started by</dt>
          <dd>{link(run.parent_flow_run_id, `run ${run.parent_flow_run_id.slice(0, 8)}`, 'parent-run')}</dd>
        </>
      )}
      {children.length > 0 && (
        <>
          <dt>Child runs</dt>
          <dd data-testid="child-runs">
            {children.map((child, i) => (
              <span key={child.id}>
                {i > 0 && ', '}
                {link(child.id, `${child.name} (${child.state})`, 'child-run')}
              </span>
            ))}
          </dd>
        </>
      )}
    </>
  );
}

function Timeline(props: { taskRuns: TaskRun[]; now: number }): JSX.Element {
  const layout = layoutTimeline(props.taskRuns, { now: props.now, maxRows: MAX_ROWS });
  if (!layout.bars.length) {
    return <div className="jp-FlowsRunView-empty">No task has started yet.</div>;
  }
  return (
    <div className="jp-FlowsTimeline" data-testid="run-timeline" data-peak-concurrency={layout.peakConcurrency}>
      <div className="jp-FlowsTimeline-row jp-FlowsTimeline-axis">
        <div className="jp-FlowsTimeline-label">peak parallel: {layout.peakConcurrency}</div>
        <div className="jp-FlowsTimeline-track">
          {layout.ticks.map(tick => (
            <span key={tick.label} className="jp-FlowsTimeline-tick" style={{ left: `${tick.offset * 100}%` }}>
              {tick.label}
            </span>
          ))}
        </div>
      </div>
      {layout.bars.map(bar => (
        <div key={bar.key} className="jp-FlowsTimeline-row">
          <div className="jp-FlowsTimeline-label" title={bar.label}>
            {bar.label}
          </div>
          <div className="jp-FlowsTimeline-track">
            <div
              className={`jp-FlowsTimeline-bar${bar.live ? ' jp-mod-live' : ''}`}
              data-testid="timeline-bar"
              data-state={bar.state}
              title={`${bar.label}: ${bar.state}, ${formatDuration(bar.duration)}`}
              style={{
                left: `${bar.left * 100}%`,
                width: `${bar.width * 100}%`,
                backgroundColor: stateColour(bar.state)
              }}
            />
          </div>
        </div>
      ))}
      {layout.notShown > 0 && (
        <div className="jp-FlowsRunView-note">{layout.notShown} more task run(s) not drawn (not started, or past the first {MAX_ROWS}).</div>
      )}
    </div>
  );
}

function TaskRunTable(props: { taskRuns: TaskRun[]; now: number }): JSX.Element {
  const shown = orderTaskRuns(props.taskRuns).slice(0, MAX_ROWS);
  return (
    <table className="jp-FlowsRunView-tasks" data-testid="task-runs-table">
      <thead>
        <tr>
          <th>Task</th>
          <th>Map index</th>
          <th>State</th>
          <th>Duration</th>
          <th>Attempts</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {shown.map(run => (
          <tr key={`${run.task_slug}:${run.map_index}`} data-task-slug={run.task_slug} data-map-index={run.map_index}>
            <td title={run.task_slug}>{run.task_name}</td>
            <td>{run.map_index >= 0 ? run.map_index : ''}</td>
            <td>
              <StateBadge state={run.state} testId="task-run-state" />
            </td>
            <td>{formatDuration(elapsed(run.start_time, run.end_time, props.now))}</td>
            <td>{run.attempts}</td>
            <td className="jp-FlowsRunView-message">{run.message ?? ''}</td>
          </tr>
        ))}
      </tbody>
      {props.taskRuns.length > shown.length && (
        <tfoot>
          <tr>
            <td colSpan={6}>{props.taskRuns.length - shown.length} more task run(s)</td>
          </tr>
        </tfoot>
      )}
    </table>
  );
}

function LogView(props: { lines: LogLine[]; dropped: number }): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const following = React.useRef(true);
  React.useLayoutEffect(() => {
    if (ref.current && following.current) {
      ref.current.scrollTop = ref.current.scrollHeight;
    }
  }, [props.lines]); // a new array on each new batch, also once the line count stays at its cap
  const onScroll = () => {
    const node = ref.current;
    if (node) {
      following.current = node.scrollHeight - node.scrollTop - node.clientHeight < 24;
    }
  };
  return (
    <div className="jp-FlowsRunView-log" data-testid="run-log" ref={ref} onScroll={onScroll}>
      {props.dropped > 0 && (
        <div className="jp-FlowsRunView-note" data-testid="log-lines-dropped">
          {props.dropped} earlier line(s) not shown: the view keeps the newest {MAX_LOG_LINES}.
        </div>
      )}
      {props.lines.length === 0 && <div className="jp-FlowsRunView-empty">No log lines yet.</div>}
      {props.lines.map(line => (
        <div key={line.id} className={`jp-FlowsLogLine jp-FlowsLogLine-${line.level}`} data-testid="log-line">
          <span className="jp-FlowsLogLine-time">{formatClock(line.timestamp)}</span>
          <span className="jp-FlowsLogLine-level">{line.level}</span>
          {line.task_name && (
            <span className="jp-FlowsLogLine-task">
              {line.map_index !== null && line.map_index >= 0 ? `${line.task_name}[${line.map_index}]` : line.task_name}
            </span>
          )}
          <span className="jp-FlowsLogLine-message">{line.message}</span>
        </div>
      ))}
    </div>
  );
}

/** The run's state history, one line per attempt: a restart from failed or a resume adds one. */
function History(props: { run: FlowRunDetail }): JSX.Element | null {
  const attempts = runAttempts(props.run.states ?? []);
  if (!attempts.length) {
    return null;
  }
  return (
    <>
      <dt>History</dt>
      <dd data-testid="run-history" data-attempts={attempts.length}>
        {attempts.map((attempt, i) => (
          <div key={i} className="jp-FlowsRunView-attempt" data-testid="run-attempt" data-final-state={attempt[attempt.length - 1].state}>
            {attempts.length > 1 ? `Attempt ${i + 1}: ` : ''}
            {describeAttempt(attempt)}
            <span className="jp-FlowsRunView-attemptTime"> ({formatTimestamp(attempt[0].timestamp)})</span>
          </div>
        ))}
      </dd>
    </>
  );
}

function OutputNotebook(props: { run: FlowRunDetail; actions: RunViewActions }): JSX.Element | null {
  const { run } = props;
  if (!run.output_path) {
    return null;
  }
  return (
    <div className="jp-FlowsRunView-output">
      <span className="jp-FlowsRunView-key">Output notebook</span>
      {run.output_notebook ? (
        <a
          href="#"
          data-testid="output-notebook-link"
          onClick={event => {
            event.preventDefault();
            props.actions.openNotebook(run.output_notebook as string);
          }}
        >
          {run.output_notebook}
        </a>
      ) : (
        <code data-testid="output-notebook-path" title="outside the Jupyter server's root directory">
          {run.output_path}
        </code>
      )}
    </div>
  );
}

function RunViewBody(props: { runId: string; client: FlowsClient; actions: RunViewActions }): JSX.Element {
  const [run, setRun] = React.useState<FlowRunDetail | null>(null);
  const [log, setLog] = React.useState<KeptLines>({ lines: [], dropped: 0 });
  const [error, setError] = React.useState<string | null>(null);
  const [children, setChildren] = React.useState<ChildRun[]>([]);
  const [trigger, setTrigger] = React.useState(0);
  const lastLogId = React.useRef<number | null>(null);

  usePolling(
    async () => {
      try {
        const detail = await props.client.getFlowRun(props.runId);
        // Logs are read after the state, so a finished run's last lines are in this fetch.
        const fresh = await readNewLogLines(after => props.client.getLogs(props.runId, after), lastLogId.current);
        lastLogId.current = fresh.lastId;
        setLog(kept => keepNewest(kept, fresh.lines));
        setRun(detail);
        setChildren(await props.client.childRuns(props.runId));
        props.actions.runLoaded(detail);
        setError(null);
        return isActive(detail.state) || fresh.more;
      } catch (e) {
        setError((e as Error).message);
        // A run that does not exist will not appear later; other failures (a restarting server) may pass.
        return !(e instanceof FlowsApiError && e.status === 404);
      }
    },
    LIVE_REFRESH_MS,
    0,
    trigger
  );

  const cancel = async () => {
    try {
      setRun(await props.client.cancelFlowRun(props.runId).then(() => props.client.getFlowRun(props.runId)));
      props.actions.runChanged();
      setTrigger(t => t + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const restart = async () => {
    try {
      setRun(await props.client.restartFlowRun(props.runId).then(() => props.client.getFlowRun(props.runId)));
      props.actions.runChanged();
      setTrigger(t => t + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const resume = async () => {
    try {
      setRun(await props.client.resumeFlowRun(props.runId).then(() => props.client.getFlowRun(props.runId)));
      props.actions.runChanged();
      setTrigger(t => t + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (!run) {
    return <div className="jp-FlowsRunView-empty">{error ?? 'Loading…'}</div>;
  }
  const now = Date.now() / 1000;
  const params = Object.entries(run.parameters);
  return (
    <div className="jp-FlowsRunView-body" data-state={run.state}>
      <div className="jp-FlowsRunView-header">
        <h2 className="jp-FlowsRunView-title">{run.name}</h2>
        <StateBadge state={run.state} testId="run-state" />
        {(isActive(run.state) || run.state === 'Paused') && (
          <button className="jp-Button jp-mod-styled jp-mod-warn" data-testid="cancel-run" onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        {(run.state === 'Failed' || run.state === 'Cancelled') && (
          <button className="jp-Button jp-mod-styled jp-mod-accept" data-testid="restart-run" onClick={() => void restart()}>
            Restart from failed
          </button>
        )}
        {run.state === 'Paused' && (
          <button className="jp-Button jp-mod-styled jp-mod-accept" data-testid="resume-run" onClick={() => void resume()}>
            Approve and resume
          </button>
        )}
      </div>
      {error && <div className="jp-FlowsPanel-error">{error}</div>}
      <dl className="jp-FlowsRunView-facts">
        <dt>Flow</dt>
        <dd>
          {run.flow_name} v{run.flow_version} in {run.project_name}
        </dd>
        <dt>Created</dt>
        <dd>{formatTimestamp(run.created)}</dd>
        {run.scheduled_start_time && run.scheduled_start_time - run.created > 1 && (
          <>
            <dt>Scheduled for</dt>
            <dd data-testid="run-scheduled-start">{formatTimestamp(run.scheduled_start_time)}</dd>
          </>
        )}
        <dt>Duration</dt>
        <dd>{formatDuration(elapsed(run.start_time, run.end_time, now)) || '—'}</dd>
        {run.run_config && (
          <>
            <dt>Run config</dt>
            <dd data-testid="run-config-kind">
              {String(run.run_config.type ?? 'UniversalRun')}
              {run.run_config.image ? ` (${String(run.run_config.image)})` : ''}
            </dd>
          </>
        )}
        {run.infrastructure && (
          <>
            <dt>Runs in</dt>
            <dd data-testid="run-infrastructure">{run.infrastructure}</dd>
          </>
        )}
        {run.waiting_reason && (
          <>
            <dt>Waiting</dt>
            <dd data-testid="run-waiting-reason">{run.waiting_reason}</dd>
          </>
        )}
        {run.state_message && (
          <>
            <dt>Message</dt>
            <dd data-testid="run-state-message">{run.state_message}</dd>
          </>
        )}
        <Lineage run={run} children={children} actions={props.actions} />
        <History run={run} />
        <dt>Parameters</dt>
        <dd>
          {params.length ? (
            <code data-testid="run-parameters">{params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}</code>
          ) : (
            'defaults'
          )}
        </dd>
      </dl>
      <OutputNotebook run={run} actions={props.actions} />
      <h3>Timeline</h3>
      <Timeline taskRuns={run.task_runs} now={now} />
      <h3>Task runs</h3>
      <TaskRunTable taskRuns={run.task_runs} now={now} />
      <h3>Log</h3>
      <LogView lines={log.lines} dropped={log.dropped} />
    </div>
  );
}

export class RunView extends ReactWidget {
  constructor(
    readonly runId: string,
    private readonly client: FlowsClient,
    private readonly actions: RunViewActions
  ) {
    super();
    this.addClass('jp-FlowsRunView');
    this.node.dataset.testid = 'run-view';
    this.node.dataset.runId = runId;
  }

  render(): JSX.Element {
    return <RunViewBody runId={this.runId} client={this.client} actions={this.actions} />;
  }
}
