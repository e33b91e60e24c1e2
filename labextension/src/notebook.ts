/**
 * "Run notebook as flow": save the notebook, register it as a flow in a
 * project (existing or new), ask for its parameters, submit a run and open
 * the run's view. Reached from a notebook toolbar button and the palette.
 */

import { Dialog, showErrorMessage } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';

import { FlowsClient } from './client';
import { askNotebookFlow, askParameters } from './dialogs';
import { flowNameForPath, outputDirForPath } from './paths';
import { scheduleRequest } from './schedule';

export interface NotebookRunHooks {
  openRun(runId: string): void;
  runChanged(): void;
}

export async function runNotebookAsFlow(panel: NotebookPanel, client: FlowsClient, hooks: NotebookRunHooks): Promise<string | null> {
  try {
    await panel.context.ready;
    await panel.context.save();
    const projects = (await client.listProjects()).map(p => p.name);
    const path = panel.context.path;
    const choice = await askNotebookFlow(
      projects,
      { project: projects[0] ?? '', name: flowNameForPath(path), outputDir: outputDirForPath(path) },
      request => client.previewSchedule(request)
    );
    if (!choice) {
      return null;
    }
    const flow = await client.registerNotebook(path, choice.project, choice.name, choice.outputDir || undefined);
    hooks.runChanged();
    const parameters = flow.parameters.length ? await askParameters(flow) : {};
    if (parameters === null) {
      return null;
    }
    if (choice.schedule) {
      // a scheduled notebook starts no run now: the agents' schedulers create its runs
      await client.setSchedule(flow.id, scheduleRequest(choice.schedule), parameters);
      hooks.runChanged();
      return null;
    }
    const run = await client.createFlowRun(flow.id, parameters);
    hooks.runChanged();
    hooks.openRun(run.id);
    return run.id;
  } catch (error) {
    await showErrorMessage('Run notebook as flow', (error as Error).message, [Dialog.okButton()]);
    return null;
  }
}
