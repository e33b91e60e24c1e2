/**
 * The run configuration the Run dialog may send with a run (`run_config` on
 * `POST flow-runs`): the flow's own, or a LocalRun, DockerRun or
 * KubernetesRun for this run only. The server checks the options (an image
 * name, a Kubernetes quantity such as "512Mi") and answers with the bad one;
 * here only what the form itself can get wrong is caught: env rows.
 */

export type RunConfigKind = 'registered' | 'LocalRun' | 'DockerRun' | 'KubernetesRun';

export const RUN_CONFIG_KINDS: RunConfigKind[] = ['registered', 'LocalRun', 'DockerRun', 'KubernetesRun'];

export interface EnvRow {
  name: string;
  value: string;
}

export interface RunConfigChoice {
  kind: RunConfigKind;
  image: string;
  env: EnvRow[];
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

/** What to send as `run_config` (null: the flow's own), or why the form cannot be sent. */
export type RunConfigOverride = { runConfig: Record<string, unknown> | null; error: null } | { runConfig: null; error: string };

export function defaultRunConfigChoice(): RunConfigChoice {
  return { kind: 'registered', image: '', env: [], cpuRequest: '', cpuLimit: '', memoryRequest: '', memoryLimit: '' };
}

/** Whether a kind takes an image (and so shows its field). */
export function takesImage(kind: RunConfigKind): boolean {
  return kind === 'DockerRun' || kind === 'KubernetesRun';
}

/** The `run_config` of a choice; empty fields are left out so that the run config's defaults apply. */
export function runConfigOverride(choice: RunConfigChoice): RunConfigOverride {
  if (choice.kind === 'registered') {
    return { runConfig: null, error: null };
  }
  const env = envOf(choice.env);
  if (typeof env === 'string') {
    return { runConfig: null, error: env };
  }
  const runConfig: Record<string, unknown> = { type: choice.kind, env };
  if (takesImage(choice.kind) && choice.image.trim()) {
    runConfig.image = choice.image.trim();
  }
  if (choice.kind === 'KubernetesRun') {
    const resources: [string, string][] = [
      ['cpu_request', choice.cpuRequest],
      ['cpu_limit', choice.cpuLimit],
      ['memory_request', choice.memoryRequest],
      ['memory_limit', choice.memoryLimit]
    ];
    for (const [key, value] of resources) {
      if (value.trim()) {
        runConfig[key] = value.trim();
      }
    }
  }
  return { runConfig, error: null };
}

/** Env rows as `{NAME: value}`; blank rows are skipped; a row without a name, or a name given twice, is an error. */
function envOf(rows: EnvRow[]): Record<string, string> | string {
  const env: Record<string, string> = {};
  for (const [index, row] of rows.entries()) {
    const name = row.name.trim();
    if (!name && !row.value) {
      continue;
    }
    if (!name || /[\s=]/.test(name)) {
      return `Environment variable ${index + 1} needs a name without spaces or "=", got ${JSON.stringify(row.name)}.`;
    }
    if (name in env) {
      return `Environment variable ${name} is given twice.`;
    }
    env[name] = row.value;
  }
  return env;
}
