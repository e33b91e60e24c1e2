/**
 * Calls to the server extension's REST API through JupyterLab's server
 * connection (which adds the token and the XSRF header).
 */

import { ServerConnection } from '@jupyterlab/services';

import { ScheduleRequest } from './schedule';
import {
  Agent,
  AgentList,
  ChildRun,
  Flow,
  FlowRun,
  FlowRunDetail,
  FlowRunPage,
  FlowSchedule,
  LogPage,
  PipelineStep,
  Project,
  SchedulePreview
} from './types';
import { apiUrl, Query } from './url';

/** A refusal from the API, carrying the server's message (which names the bad value). */
export class FlowsApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'FlowsApiError';
  }
}

export class FlowsClient {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  async listProjects(): Promise<Project[]> {
    return (await this.request<{ projects: Project[] }>(['projects'])).projects;
  }

  async listAgents(): Promise<Agent[]> {
    return (await this.agentList()).agents;
  }

  /** The agents, and how the agent this server manages fares. */
  async agentList(): Promise<AgentList> {
    return this.request<AgentList>(['agents']);
  }

  /** This server starts its agent now and keeps it running (the panel's Start button). */
  async startAgent(): Promise<void> {
    await this.request<unknown>(['agents', 'start'], {}, { method: 'POST', body: {} });
  }

  /** The end of the log of an agent this server started. */
  async agentLog(id: string): Promise<string> {
    return (await this.request<{ log: string }>(['agents', id, 'log'])).log;
  }

  /** The latest version of each flow; with `archived`, every version (the panel's version picker lists them). */
  async listFlows(project?: string, archived = false): Promise<Flow[]> {
    return (await this.request<{ flows: Flow[] }>(['flows'], { project, archived: archived || undefined })).flows;
  }

  async listFlowRuns(query: { flow_id?: string; project?: string; state?: string; limit?: number; offset?: number } = {}): Promise<FlowRunPage> {
    return this.request<FlowRunPage>(['flow-runs'], query);
  }

  async getFlowRun(id: string): Promise<FlowRunDetail> {
    return this.request<FlowRunDetail>(['flow-runs', id]);
  }

  /** One page of log lines after `after` (the server's page size unless `limit` is given). */
  async getLogs(id: string, after: number | null, limit?: number): Promise<LogPage> {
    return this.request<LogPage>(['flow-runs', id, 'logs'], { after, limit });
  }

  /** Start a run; `runConfig` (a DockerRun, KubernetesRun... as a dict) replaces the flow's for this run only. */
  async createFlowRun(
    flowId: string,
    parameters: Record<string, unknown>,
    labels?: string[],
    runConfig?: Record<string, unknown> | null
  ): Promise<FlowRun> {
    const body = { flow_id: flowId, parameters, labels, run_config: runConfig ?? undefined };
    return this.request<FlowRun>(['flow-runs'], {}, { method: 'POST', body });
  }

  async cancelFlowRun(id: string): Promise<FlowRun> {
    return this.request<FlowRun>(['flow-runs', id, 'cancel'], {}, { method: 'POST', body: {} });
  }

  /** Run a Failed or Cancelled run again (same id): only what did not succeed reruns. 409 says why not. */
  async restartFlowRun(id: string): Promise<FlowRun> {
    return this.request<FlowRun>(['flow-runs', id, 'restart'], {}, { method: 'POST', body: {} });
  }

  /** Approve a Paused run's manual_only tasks (same id): they run, what succeeded is kept. 409 names another state. */
  async resumeFlowRun(id: string): Promise<FlowRun> {
    return this.request<FlowRun>(['flow-runs', id, 'resume'], {}, { method: 'POST', body: {} });
  }

  async registerNotebook(path: string, project: string, name?: string, outputDir?: string): Promise<Flow> {
    return this.request<Flow>(['notebooks', 'register'], {}, {
      method: 'POST',
      body: { path, project, name, output_dir: outputDir }
    });
  }

  /** Register several notebooks under the server's root as one flow (each an ExecuteNotebook task). */
  async registerPipeline(project: string, name: string, steps: PipelineStep[]): Promise<Flow> {
    return this.request<Flow>(['notebooks', 'pipeline'], {}, { method: 'POST', body: { project, name, steps } });
  }

  /** The runs that run `id` started (flows of flows). */
  async childRuns(id: string): Promise<ChildRun[]> {
    return (await this.request<{ child_flow_runs: ChildRun[] }>(['flow-runs', id, 'children'])).child_flow_runs;
  }

  /** The schedule a form describes, in words, with its next times; a bad value is refused naming it. */
  async previewSchedule(request: ScheduleRequest): Promise<SchedulePreview> {
    return this.request<SchedulePreview>(['schedules', 'preview'], {
      cron: request.cron,
      every: request.every,
      tz: request.timezone || undefined
    });
  }

  async setSchedule(flowId: string, request: ScheduleRequest, parameters?: Record<string, unknown>): Promise<FlowSchedule> {
    return this.request<FlowSchedule>(['flows', flowId, 'schedule'], {}, { method: 'POST', body: { ...request, parameters } });
  }

  async pauseSchedule(flowId: string, pause: boolean): Promise<FlowSchedule> {
    return this.request<FlowSchedule>(['flows', flowId, 'schedule', pause ? 'pause' : 'resume'], {}, { method: 'POST', body: {} });
  }

  private async request<T>(segments: string[], query: Query = {}, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const url = apiUrl(this.settings.baseUrl, segments, query);
    const request: RequestInit = { method: init.method ?? 'GET' };
    if (init.body !== undefined) {
      request.body = JSON.stringify(init.body);
      request.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, request, this.settings);
    } catch (error) {
      throw new FlowsApiError(0, `the Jupyter server did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    let data: any = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { message: `${response.status} ${response.statusText}: ${text.slice(0, 200)}` };
    }
    if (!response.ok) {
      throw new FlowsApiError(response.status, data.message ?? `${response.status} ${response.statusText}`);
    }
    return data as T;
  }
}
