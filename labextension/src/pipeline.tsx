/**
 * "Create flow from notebooks": the notebooks selected in the file browser
 * become one flow, each an ExecuteNotebook task. The dialog orders them (a
 * chain by default, or each step after chosen others), takes each one's
 * parameters as JSON and, optionally, a schedule, then registers the flow
 * (with its schedule) and, if asked, starts a run.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { FlowsClient } from './client';
import { PipelineDraft, pipelineRequest, StepAfter } from './pipelinesteps';
import { defaultScheduleChoice, PreviewSchedule, ScheduleChoice, ScheduleFields, scheduleRequest } from './schedule';

/** What the dialog gives back: the pipeline, and the schedule to set on it (null: none). */
interface PipelineChoice {
  draft: PipelineDraft;
  schedule: ScheduleChoice | null;
}

function move<T>(items: T[], from: number, to: number): T[] {
  const copy = [...items];
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item);
  return copy;
}

function PipelineFields(props: {
  initial: PipelineChoice;
  preview: PreviewSchedule;
  onChange: (choice: PipelineChoice) => void;
}): JSX.Element {
  const [draft, setDraft] = React.useState<PipelineDraft>(props.initial.draft);
  const [schedule, setSchedule] = React.useState<ScheduleChoice | null>(props.initial.schedule);
  const update = (next: PipelineDraft) => {
    setDraft(next);
    props.onChange({ draft: next, schedule });
  };
  const updateSchedule = (next: ScheduleChoice | null) => {
    setSchedule(next);
    props.onChange({ draft, schedule: next });
  };
  const setStep = (index: number, change: Partial<PipelineDraft['steps'][number]>) =>
    update({ ...draft, steps: draft.steps.map((s, i) => (i === index ? { ...s, ...change } : s)) });
  const afterValue = (after: StepAfter) => (typeof after === 'string' ? after : String(after[0]));
  return (
    <div className="jp-FlowsPipelineForm">
      <label>
        Project <input className="jp-mod-styled" data-testid="pipeline-project" value={draft.project}
          onChange={e => update({ ...draft, project: e.target.value })} />
      </label>
      <label>
        Flow name <input className="jp-mod-styled" data-testid="pipeline-name" value={draft.name}
          onChange={e => update({ ...draft, name: e.target.value })} />
      </label>
      <ol className="jp-FlowsPipelineForm-steps">
        {draft.steps.map((step, index) => (
          <li key={step.path} data-testid="pipeline-step" data-path={step.path}>
            <code>{step.path}</code>
            <button className="jp-Button jp-mod-minimal" title="earlier" data-testid="pipeline-up" disabled={index === 0}
              onClick={() => update({ ...draft, steps: move(draft.steps, index, index - 1) })}>↑</button>
            <button className="jp-Button jp-mod-minimal" title="later" data-testid="pipeline-down"
              disabled={index === draft.steps.length - 1}
              onClick={() => update({ ...draft, steps: move(draft.steps, index, index + 1) })}>↓</button>
            <select className="jp-mod-styled" data-testid="pipeline-after" value={afterValue(step.after)}
              onChange={e => {
                const value = e.target.value;
                setStep(index, { after: value === 'previous' || value === 'none' ? value : [Number(value)] });
              }}>
              <option value="previous">after the step before</option>
              <option value="none">at the start</option>
              {draft.steps.map((other, i) => i !== index && (
                <option key={other.path} value={String(i)}>after {other.path}</option>
              ))}
            </select>
            <textarea className="jp-mod-styled" rows={1} data-testid="pipeline-parameters"
              placeholder='parameters as JSON, e.g. {"day": "2026-11-30"}' value={step.parameters}
              onChange={e => setStep(index, { parameters: e.target.value })} />
          </li>
        ))}
      </ol>
      <label>
        <input type="checkbox" data-testid="pipeline-schedule" checked={!!schedule}
          onChange={e => updateSchedule(e.target.checked ? defaultScheduleChoice() : null)} />
        Run on a schedule
      </label>
      {schedule && <ScheduleFields initial={schedule} preview={props.preview} onChange={updateSchedule} />}
    </div>
  );
}

class PipelineForm extends ReactWidget implements Dialog.IBodyWidget<PipelineChoice> {
  constructor(
    private choice: PipelineChoice,
    private readonly preview: PreviewSchedule
  ) {
    super();
    this.addClass('jp-FlowsPipelineDialog');
  }

  getValue(): PipelineChoice {
    return this.choice;
  }

  render(): JSX.Element {
    return <PipelineFields initial={this.choice} preview={this.preview} onChange={choice => (this.choice = choice)} />;
  }
}

function stem(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.ipynb$/, '');
}

/**
 * Ask how to chain `paths` into a flow, register it, and (with "Register and
 * run") start a run; resolves to the run's id, or null.
 */
export async function createPipeline(paths: string[], client: FlowsClient, openRun: (id: string) => void): Promise<string | null> {
  let choice: PipelineChoice = {
    draft: {
      project: 'notebooks',
      name: paths.map(stem).join('-then-').slice(0, 100),
      steps: paths.map(path => ({ path, parameters: '', after: 'previous' as StepAfter }))
    },
    schedule: null
  };
  const preview: PreviewSchedule = request => client.previewSchedule(request);
  for (;;) {
    const form = new PipelineForm(choice, preview);
    const result = await showDialog({
      title: 'Create flow from notebooks',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Register' }), Dialog.okButton({ label: 'Register and run' })]
    });
    if (!result.button.accept) {
      return null;
    }
    choice = form.getValue();
    const request = pipelineRequest(choice.draft);
    try {
      if (typeof request === 'string') {
        throw new Error(request);
      }
      const flow = await client.registerPipeline(request.project, request.name, request.steps);
      if (choice.schedule) {
        await client.setSchedule(flow.id, scheduleRequest(choice.schedule));
      }
      if (result.button.label !== 'Register and run') {
        return null;
      }
      const run = await client.createFlowRun(flow.id, {});
      openRun(run.id);
      return run.id;
    } catch (error) {
      await showErrorMessage('Create flow from notebooks', (error as Error).message, [Dialog.okButton()]);
    }
  }
}
