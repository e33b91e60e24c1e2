/** What the server extension's REST API returns (see jupyter_flows/jupyter/server/handlers.py). */

import { FlowParameter } from './params';
import { TimedTaskRun } from './timeline';

export interface Project {
  id: string;
  name: string;
  description: string | null;
  created: number;
  flow_count?: number;
}

export interface FlowVersion {
  id: string;
  version: number;
  archived: boolean;
  created: number;
}

export interface Flow {
  id: string;
  name: string;
  project_name: string;
  version: number;
  version_group_id: string;
  archived: boolean;
  parameters: FlowParameter[];
  storage_kind: string | null;
  run_config_kind: string | null;
  executor_kind: string | null;
  labels: string[];
  created: number;
  versions: FlowVersion[];
  /** The flow's schedule, null when it has none. */
  schedule?: FlowSchedule | null;
  /** Epoch seconds of its next scheduled run; null when paused or unscheduled. */
  next_run?: number | null;
}

/** A schedule as the API shows it (see jupyter_flows/jupyter/server/schedules.py). */
export interface FlowSchedule {
  description: string;
  paused: boolean;
  missed_runs: string;
  next_run: number | null;
}

/** `GET schedules/preview`: the schedule in words and its next times (ISO 8601 in its zone). */
export interface SchedulePreview {
  description: string;
  next: string[];
}

export interface FlowRun {
  id: string;
  name: string;
  flow_id: string;
  flow_name: string;
  flow_version: number;
  project_name: string;
  parameters: Record<string, unknown>;
  labels: string[];
  state: string;
  state_message: string | null;
  created: number;
  start_time: number | null;
  end_time: number | null;
  /** When an agent may start it (epoch seconds): a scheduled run waits for it. */
  scheduled_start_time?: number | null;
  output_path: string | null;
  /** `output_path` relative to the server's root directory, when it lies under it (openable in JupyterLab). */
  output_notebook?: string | null;
  /** Why a Scheduled run is not picked up ("no agent is running", a missing label); null otherwise. */
  waiting_reason?: string | null;
  /** The run whose `create_flow_run` task started this one (flows of flows); null otherwise. */
  parent_flow_run_id?: string | null;
  /** The run config it runs with (its flow's unless overridden), secret-looking env values masked. */
  run_config?: Record<string, unknown> | null;
  /** Where its agent runs it: "container <name>" (Docker) or "Job <namespace>/<name>" (Kubernetes); null otherwise. */
  infrastructure?: string | null;
}

/** A run another run started (`GET flow-runs/<id>/children`). */
export interface ChildRun {
  id: string;
  name: string;
  state: string;
}

/** One notebook of a pipeline: its parameters and the indexes of the steps it waits for. */
export interface PipelineStep {
  path: string;
  parameters?: Record<string, unknown>;
  after?: number[];
}

export interface Agent {
  id: string;
  host: string;
  labels: string[];
  last_seen: number;
  runs_in_flight: number;
  /** Seen within the stale threshold (two heartbeat intervals). */
  live: boolean;
  /** Started by this Jupyter server (its log is readable through the API). */
  managed: boolean;
}

/** How the agent this Jupyter server manages fares (`c.JupyterFlows.agent`). */
export interface ManagedAgentStatus {
  mode: 'auto' | 'always' | 'off';
  agent_id: string | null;
  running: boolean;
  /** Crashes in a row; the server restarts it after `restart_in` seconds. */
  crashes: number;
  restart_in: number | null;
  /** The last crash, or why no agent could start (an unreachable backend). */
  problem: string | null;
  can_start: boolean;
}

export interface AgentList {
  agents: Agent[];
  managed_agent: ManagedAgentStatus | null;
  /** The server's clock when it answered (epoch seconds): how long ago agents were seen is read against it. */
  now?: number;
}

export type TaskRun = TimedTaskRun & {
  message: string | null;
  attempts: number;
};

export interface FlowRunDetail extends FlowRun {
  task_runs: TaskRun[];
  states: Array<{ state: string; message: string | null; timestamp: number }>;
}

export interface FlowRunPage {
  flow_runs: FlowRun[];
  limit: number;
  offset: number;
  has_more: boolean;
}

export interface LogLine {
  id: number;
  level: string;
  timestamp: number;
  message: string;
  task_name: string | null;
  task_slug: string | null;
  map_index: number | null;
}

export interface LogPage {
  logs: LogLine[];
  /** Pass back as `after` to get only newer lines. */
  last_id: number | null;
  /** More lines follow this page already: ask again at once. */
  has_more: boolean;
}
