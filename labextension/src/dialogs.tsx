/**
 * The dialogs: parameters for a run (inputs generated from the flow's
 * defaults), and project and name for running a notebook as a flow.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { collectParameters, CollectedParameters, FlowParameter, initialValue, inputKind, RawValue } from './params';
import { defaultScheduleChoice, PreviewSchedule, ScheduleChoice, ScheduleFields } from './schedule';
import { Flow } from './types';

class ParametersForm extends ReactWidget implements Dialog.IBodyWidget<CollectedParameters> {
  private readonly raws: Record<string, RawValue>;

  constructor(
    private readonly parameters: FlowParameter[],
    raws: Record<string, RawValue>,
    private readonly errors: Record<string, string>
  ) {
    super();
    this.addClass('jp-FlowsParametersForm');
    this.raws = { ...raws };
  }

  getValue(): CollectedParameters {
    return collectParameters(this.parameters, this.raws);
  }

  get currentRaws(): Record<string, RawValue> {
    return { ...this.raws };
  }

  render(): JSX.Element {
    if (!this.parameters.length) {
      return <p>This flow has no parameters.</p>;
    }
    return (
      <div className="jp-FlowsParametersForm-fields">
        {this.parameters.map(parameter => (
          <ParameterField
            key={parameter.name}
            parameter={parameter}
            initial={this.raws[parameter.name] ?? initialValue(parameter)}
            error={this.errors[parameter.name]}
            onChange={value => {
              this.raws[parameter.name] = value;
            }}
          />
        ))}
      </div>
    );
  }
}

function ParameterField(props: {
  parameter: FlowParameter;
  initial: RawValue;
  error?: string;
  onChange: (value: RawValue) => void;
}): JSX.Element {
  const { parameter } = props;
  const kind = inputKind(parameter);
  const [value, setValue] = React.useState<RawValue>(props.initial);
  const update = (next: RawValue) => {
    setValue(next);
    props.onChange(next);
  };
  const id = `jp-flows-param-${parameter.name}`;
  let input: JSX.Element;
  if (kind === 'checkbox') {
    input = (
      <input id={id} type="checkbox" data-param={parameter.name} checked={value as boolean} onChange={e => update(e.target.checked)} />
    );
  } else if (kind === 'json') {
    input = (
      <textarea
        id={id}
        className="jp-mod-styled"
        data-param={parameter.name}
        rows={2}
        placeholder='JSON, e.g. "text", 3, true or ["a", "b"]'
        value={value as string}
        onChange={e => update(e.target.value)}
      />
    );
  } else {
    input = (
      <input
        id={id}
        className="jp-mod-styled"
        type={kind === 'number' ? 'number' : 'text'}
        step="any"
        data-param={parameter.name}
        value={value as string}
        onChange={e => update(e.target.value)}
      />
    );
  }
  return (
    <div className="jp-FlowsParametersForm-field" data-kind={kind}>
      <label htmlFor={id}>
        {parameter.name}
        {parameter.required ? ' (required)' : ''}
        <span className="jp-FlowsParametersForm-kind">{kind === 'json' ? 'JSON' : kind}</span>
      </label>
      {input}
      {props.error && (
        <div className="jp-FlowsParametersForm-error" data-testid="parameter-error">
          {props.error}
        </div>
      )}
    </div>
  );
}

/**
 * Ask for the parameters of a run of `flow`. Resolves to the values to send
 * (those changed from the defaults), or null when the user cancels. Values
 * that cannot be read reopen the dialog with the message beside the input.
 */
export async function askParameters(flow: Flow): Promise<Record<string, unknown> | null> {
  let raws: Record<string, RawValue> = {};
  let errors: Record<string, string> = {};
  for (;;) {
    const form = new ParametersForm(flow.parameters, raws, errors);
    const result = await showDialog({
      title: `Run ${flow.name} (v${flow.version})`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })],
      focusNodeSelector: 'input, textarea'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    if (!Object.keys(result.value.errors).length) {
      return result.value.values;
    }
    raws = form.currentRaws;
    errors = result.value.errors;
  }
}

export interface NotebookFlowChoice {
  project: string;
  name: string;
  /** Folder under the server root for executed copies; empty keeps them in the jupyter-flows home. */
  outputDir: string;
  /** Run it on this schedule instead of once now (null). */
  schedule?: ScheduleChoice | null;
}

class NotebookFlowForm extends ReactWidget implements Dialog.IBodyWidget<NotebookFlowChoice> {
  private value: NotebookFlowChoice;

  constructor(
    private readonly projects: string[],
    initial: NotebookFlowChoice,
    private readonly error: string | null,
    private readonly preview?: PreviewSchedule
  ) {
    super();
    this.addClass('jp-FlowsNotebookForm');
    this.value = { ...initial };
  }

  getValue(): NotebookFlowChoice {
    return {
      project: this.value.project.trim(),
      name: this.value.name.trim(),
      outputDir: this.value.outputDir.trim(),
      schedule: this.value.schedule ?? null
    };
  }

  render(): JSX.Element {
    return (
      <NotebookFlowFields
        projects={this.projects}
        initial={this.value}
        error={this.error}
        preview={this.preview}
        onChange={v => (this.value = v)}
      />
    );
  }
}

function NotebookFlowFields(props: {
  projects: string[];
  initial: NotebookFlowChoice;
  error: string | null;
  preview?: PreviewSchedule;
  onChange: (value: NotebookFlowChoice) => void;
}): JSX.Element {
  const [value, setValue] = React.useState(props.initial);
  const update = (next: NotebookFlowChoice) => {
    setValue(next);
    props.onChange(next);
  };
  return (
    <div className="jp-FlowsParametersForm-fields">
      <div className="jp-FlowsParametersForm-field">
        <label htmlFor="jp-flows-project">Project (pick one, or type a new name)</label>
        <input
          id="jp-flows-project"
          className="jp-mod-styled"
          list="jp-flows-project-names"
          data-testid="notebook-flow-project"
          value={value.project}
          onChange={e => update({ ...value, project: e.target.value })}
        />
        <datalist id="jp-flows-project-names">
          {props.projects.map(name => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      <div className="jp-FlowsParametersForm-field">
        <label htmlFor="jp-flows-flow-name">Flow name</label>
        <input
          id="jp-flows-flow-name"
          className="jp-mod-styled"
          data-testid="notebook-flow-name"
          value={value.name}
          onChange={e => update({ ...value, name: e.target.value })}
        />
      </div>
      <div className="jp-FlowsParametersForm-field">
        <label htmlFor="jp-flows-output-dir">Executed notebooks go to (empty: the jupyter-flows home)</label>
        <input
          id="jp-flows-output-dir"
          className="jp-mod-styled"
          data-testid="notebook-flow-output-dir"
          value={value.outputDir}
          onChange={e => update({ ...value, outputDir: e.target.value })}
        />
      </div>
      {props.preview && (
        <div className="jp-FlowsParametersForm-field" role="radiogroup" aria-label="When">
          <label>
            <input
              type="radio"
              name="jp-flows-when"
              data-testid="when-now"
              checked={!value.schedule}
              onChange={() => update({ ...value, schedule: null })}
            />
            Run now
          </label>
          <label>
            <input
              type="radio"
              name="jp-flows-when"
              data-testid="when-schedule"
              checked={!!value.schedule}
              onChange={() => update({ ...value, schedule: value.schedule ?? defaultScheduleChoice() })}
            />
            Schedule
          </label>
        </div>
      )}
      {props.preview && value.schedule && (
        <ScheduleFields
          initial={value.schedule}
          preview={props.preview}
          onChange={schedule => update({ ...value, schedule })}
        />
      )}
      {props.error && (
        <div className="jp-FlowsParametersForm-error" data-testid="notebook-flow-error">
          {props.error}
        </div>
      )}
    </div>
  );
}

/**
 * Ask which project (existing or new) and under which name a notebook is
 * registered, and (with `preview`) whether it runs now or on a schedule;
 * null if cancelled.
 */
export async function askNotebookFlow(
  projects: string[],
  initial: NotebookFlowChoice,
  preview?: PreviewSchedule
): Promise<NotebookFlowChoice | null> {
  let choice = initial;
  let error: string | null = null;
  for (;;) {
    const form = new NotebookFlowForm(projects, choice, error, preview);
    const result = await showDialog({
      title: 'Run notebook as flow',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Next' })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    choice = result.value;
    if (choice.project && choice.name) {
      return choice;
    }
    error = choice.project ? 'The flow needs a name.' : 'Pick a project or type the name of a new one.';
  }
}
