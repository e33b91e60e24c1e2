import { describe, expect, it } from 'vitest';

import { PipelineDraft, pipelineRequest } from '../src/pipelinesteps';

const draft = (steps: PipelineDraft['steps']): PipelineDraft => ({ project: 'etl', name: 'daily', steps });

describe('a pipeline of notebooks', () => {
  it('is a chain unless a step says otherwise', () => {
    const request = pipelineRequest(
      draft([
        { path: 'a.ipynb', parameters: '{"day": "2026-11-30"}', after: 'previous' },
        { path: 'b.ipynb', parameters: '', after: 'previous' },
        { path: 'c.ipynb', parameters: ' ', after: 'none' },
        { path: 'd.ipynb', parameters: '{}', after: [0] }
      ])
    );
    expect(request).toEqual({
      project: 'etl',
      name: 'daily',
      steps: [
        { path: 'a.ipynb', parameters: { day: '2026-11-30' }, after: [] },
        { path: 'b.ipynb', parameters: {}, after: [0] },
        { path: 'c.ipynb', parameters: {}, after: [] },
        { path: 'd.ipynb', parameters: {}, after: [0] }
      ]
    });
  });

  it('names the notebook whose parameters are not a JSON object', () => {
    expect(pipelineRequest(draft([{ path: 'a.ipynb', parameters: '{day', after: 'previous' }]))).toMatch(
      /^Parameters of a.ipynb: not JSON/
    );
    expect(pipelineRequest(draft([{ path: 'b.ipynb', parameters: '[1]', after: 'previous' }]))).toBe(
      'Parameters of b.ipynb: give a JSON object, such as {"day": "2026-11-30"}'
    );
  });

  it('needs a project and a name', () => {
    expect(pipelineRequest({ project: ' ', name: 'x', steps: [] })).toBe('Give the flow a project and a name.');
  });
});
