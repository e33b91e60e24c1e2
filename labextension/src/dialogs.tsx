/**
 * The dialogs: parameters for a run (inputs generated from the flow's
 * defaults) and its run configuration, and project and name for running a
 * notebook as a flow.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { collectParameters, CollectedParameters, FlowParameter, initialValue, inputKind, RawValue } from './params';
import {
  defaultRunConfigChoice,
  EnvRow,
  RUN_CONFIG_KINDS,
  RunConfigChoice,
  runConfigOverride,
  RunConfigOverride,
  takesImage
} from './runconfig';
import { defaultScheduleChoice, PreviewSchedule, ScheduleChoice, ScheduleFields } from './schedule';
import { Flow } from './types';

/** What the Run dialog collected: the parameters and, when it offers one, the run config override. */
interface RunFormValue {
  parameters: CollectedParameters;
  runConfig: RunConfigOverride | null;
}

/** The run configuration section of the Run dialog (null: not offered, as for a notebook run). */
interface RunConfigSection {
  registeredKind: string | null;
  choice: RunConfigChoice;
  error: string | null;
}

class ParametersForm extends ReactWidget implements Dialog.IBodyWidget<RunFormValue> {
  private readonly raws: Record<string, RawValue>;

  constructor(
    private readonly parameters: FlowParameter[],
    raws: Record<string, RawValue>,
    private readonly errors: Record<string, string>,
    private readonly runConfig: RunConfigSection | null = null
  ) {
    super();
    this.addClass('jp-FlowsParametersForm');
    this.raws = { ...raws };
  }

  getValue(): RunFormValue {
    return {
      parameters: collectParameters(this.parameters, this.raws),
      runConfig: this.runConfig ? runConfigOverride(this.runConfig.choice) : null
    };
  }

  get currentRaws(): Record<string, RawValue> {
    return { ...this.raws };
  }

  get currentRunConfig(): RunConfigChoice {
    return this.runConfig?.choice ?? defaultRunConfigChoice();
  }

  render(): JSX.Element {
    const section = this.runConfig;
    return (
      <>
        {this.renderParameters()}
        {section && (
          <RunConfigFields
            registeredKind={section.registeredKind}
            initial={section.choice}
            error={section.error}
            onChange={choice => (section.choice = choice)}
          />
        )}
      </>
    );
  }

  private renderParameters(): JSX.Element {
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

function Field(props: { id: string; label: string; children: React.ReactNode }): JSX.Element {
  return (
    <div className="jp-FlowsParametersForm-field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}

function kindLabel(kind: string, registeredKind: string | null): string {
  return kind === 'registered' ? `As registered (${registeredKind ?? 'UniversalRun'})` : kind;
}

/** Where the run runs: the flow's own run config, or a LocalRun, DockerRun (image, env) or KubernetesRun (cpu, memory). */
function RunConfigFields(props: {
  registeredKind: string | null;
  initial: RunConfigChoice;
  error: string | null;
  onChange: (choice: RunConfigChoice) => void;
}): JSX.Element {
  const [choice, setChoice] = React.useState(props.initial);
  const update = (next: Partial<RunConfigChoice>) => {
    const updated = { ...choice, ...next };
    setChoice(updated);
    props.onChange(updated);
  };
  const setEnv = (index: number, row: EnvRow) => update({ env: choice.env.map((r, i) => (i === index ? row : r)) });
  const text = (id: string, key: 'image' | 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit', placeholder: string) => (
    <input
      id={id}
      className="jp-mod-styled"
      data-testid={id}
      placeholder={placeholder}
      value={choice[key]}
      onChange={e => update({ [key]: e.target.value })}
    />
  );
  return (
    <div className="jp-FlowsParametersForm-fields jp-FlowsRunConfigForm">
      <Field id="run-config-kind" label="Run configuration">
        <select
          id="run-config-kind"
          className="jp-mod-styled"
          data-testid="run-config-kind"
          value={choice.kind}
          onChange={e => update({ kind: e.target.value as RunConfigChoice['kind'] })}
        >
          {RUN_CONFIG_KINDS.map(kind => (
            <option key={kind} value={kind}>
              {kindLabel(kind, props.registeredKind)}
            </option>
          ))}
        </select>
      </Field>
      {takesImage(choice.kind) && (
        <Field id="run-config-image" label="Image (empty: the agent's default)">
          {text('run-config-image', 'image', 'e.g. python:3.12-slim')}
        </Field>
      )}
      {choice.kind === 'KubernetesRun' && (
        <>
          <Field id="run-config-cpu-request" label="CPU request">
            {text('run-config-cpu-request', 'cpuRequest', 'e.g. 500m or 1')}
          </Field>
          <Field id="run-config-cpu-limit" label="CPU limit">
            {text('run-config-cpu-limit', 'cpuLimit', 'e.g. 2')}
          </Field>
          <Field id="run-config-memory-request" label="Memory request">
            {text('run-config-memory-request', 'memoryRequest', 'e.g. 512Mi')}
          </Field>
          <Field id="run-config-memory-limit" label="Memory limit">
            {text('run-config-memory-limit', 'memoryLimit', 'e.g. 1Gi')}
          </Field>
        </>
      )}
      {choice.kind !== 'registered' && (
        <div className="jp-FlowsParametersForm-field" data-testid="run-config-env">
          <label>Environment variables</label>
          {choice.env.map((row, index) => (
            <div key={index} className="jp-FlowsRunConfigForm-envRow">
              <input
                className="jp-mod-styled"
                aria-label={`Name of variable ${index + 1}`}
                data-testid="run-config-env-name"
                placeholder="NAME"
                value={row.name}
                onChange={e => setEnv(index, { ...row, name: e.target.value })}
              />
              <input
                className="jp-mod-styled"
                aria-label={`Value of variable ${index + 1}`}
                data-testid="run-config-env-value"
                placeholder="value"
                value={row.value}
                onChange={e => setEnv(index, { ...row, value: e.target.value })}
              />
              <button
                className="jp-Button jp-mod-styled jp-mod-reject"
                title="Remove this variable"
                onClick={() => update({ env: choice.env.filter((_, i) => i !== index) })}
              >
                ×
              </button>
            </div>
          ))}
          <button
            className="jp-Button jp-mod-styled"
            data-testid="run-config-env-add"
            onClick={() => update({ env: [...choice.env, { name: '', value: '' }] })}
          >
            Add variable
          </button>
        </div>
      )}
      {props.error && (
        <div className="jp-FlowsParametersForm-error" data-testid="run-config-error">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** What the Run dialog sends: the parameters changed from the defaults, and a run config override (null: none). */
export interface RunRequest {
  parameters: Record<string, unknown>;
  runConfig: Record<string, unknown> | null;
}

/**
 * Ask for the parameters of a run of `flow` and (with `offerRunConfig`) its
 * run configuration. Resolves to what to send, or null when the user
 * cancels. Values that cannot be read reopen the dialog with the message
 * beside the input.
 */
export async function askRun(flow: Flow, offerRunConfig = true): Promise<RunRequest | null> {
  let raws: Record<string, RawValue> = {};
  let errors: Record<string, string> = {};
  let section: RunConfigSection | null = offerRunConfig
    ? { registeredKind: flow.run_config_kind, choice: defaultRunConfigChoice(), error: null }
    : null;
  for (;;) {
    const form = new ParametersForm(flow.parameters, raws, errors, section);
    const result = await showDialog({
      title: `Run ${flow.name} (v${flow.version})`,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })],
      focusNodeSelector: 'input, textarea, select'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    const { parameters, runConfig } = result.value;
    if (!Object.keys(parameters.errors).length && !runConfig?.error) {
      return { parameters: parameters.values, runConfig: runConfig?.runConfig ?? null };
    }
    raws = form.currentRaws;
    errors = parameters.errors;
    section = section && { ...section, choice: form.currentRunConfig, error: runConfig?.error ?? null };
  }
}

/** Ask for the parameters of a run of `flow` only (its own run config); null when the user cancels. */
export async function askParameters(flow: Flow): Promise<Record<string, unknown> | null> {
  return (await askRun(flow, false))?.parameters ?? null;
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
