/**
 * The "Create flow from notebooks" dialog's draft and the request it becomes:
 * pure data work (no JupyterLab imports), unit-tested in node.
 */

import { PipelineStep } from './types';

/** What a step waits for: the step before it, nothing, or the steps listed. */
export type StepAfter = 'previous' | 'none' | number[];

export interface PipelineDraft {
  project: string;
  name: string;
  steps: { path: string; parameters: string; after: StepAfter }[];
}

export interface PipelineRequest {
  project: string;
  name: string;
  steps: PipelineStep[];
}

/** The request a draft describes, or the first mistake in it (naming the notebook). */
export function pipelineRequest(draft: PipelineDraft): PipelineRequest | string {
  if (!draft.project.trim() || !draft.name.trim()) {
    return 'Give the flow a project and a name.';
  }
  const steps: PipelineStep[] = [];
  for (const [index, step] of draft.steps.entries()) {
    let parameters: unknown = {};
    try {
      parameters = step.parameters.trim() ? JSON.parse(step.parameters) : {};
    } catch (error) {
      return `Parameters of ${step.path}: not JSON (${(error as Error).message})`;
    }
    if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
      return `Parameters of ${step.path}: give a JSON object, such as {"day": "2026-11-30"}`;
    }
    const after = step.after === 'previous' ? (index ? [index - 1] : []) : step.after === 'none' ? [] : step.after;
    steps.push({ path: step.path, parameters: parameters as Record<string, unknown>, after });
  }
  return { project: draft.project.trim(), name: draft.name.trim(), steps };
}
