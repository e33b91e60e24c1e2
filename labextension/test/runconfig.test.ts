import { describe, expect, it } from 'vitest';

import { defaultRunConfigChoice, runConfigOverride, RunConfigChoice } from '../src/runconfig';

function choice(values: Partial<RunConfigChoice>): RunConfigChoice {
  return { ...defaultRunConfigChoice(), ...values };
}

describe('the run config a run is sent with', () => {
  it('is the flow\'s own unless another kind is picked', () => {
    expect(runConfigOverride(defaultRunConfigChoice())).toEqual({ runConfig: null, error: null });
  });

  it('of a DockerRun has its image and env, blank env rows left out', () => {
    const picked = choice({
      kind: 'DockerRun',
      image: ' python:3.12-slim ',
      env: [
        { name: 'GREETING', value: 'Hi' },
        { name: '', value: '' }
      ]
    });
    expect(runConfigOverride(picked)).toEqual({
      runConfig: { type: 'DockerRun', image: 'python:3.12-slim', env: { GREETING: 'Hi' } },
      error: null
    });
  });

  it('of a KubernetesRun has the cpu and memory given, and leaves the rest to its defaults', () => {
    const picked = choice({ kind: 'KubernetesRun', image: 'repo/flows:1', cpuRequest: '500m', memoryLimit: '1Gi' });
    expect(runConfigOverride(picked).runConfig).toEqual({
      type: 'KubernetesRun',
      image: 'repo/flows:1',
      env: {},
      cpu_request: '500m',
      memory_limit: '1Gi'
    });
  });

  it('of a LocalRun has no image even if one was typed before switching kind', () => {
    expect(runConfigOverride(choice({ kind: 'LocalRun', image: 'python:3.12' })).runConfig).toEqual({
      type: 'LocalRun',
      env: {}
    });
  });

  it('is refused for an env value without a name, a name with a space, or a name given twice', () => {
    const missing = runConfigOverride(choice({ kind: 'DockerRun', env: [{ name: ' ', value: 'x' }] }));
    const spaced = runConfigOverride(choice({ kind: 'DockerRun', env: [{ name: 'MY VAR', value: 'x' }] }));
    const twice = runConfigOverride(
      choice({
        kind: 'LocalRun',
        env: [
          { name: 'A', value: '1' },
          { name: 'A', value: '2' }
        ]
      })
    );
    expect(missing).toEqual({ runConfig: null, error: expect.stringContaining('Environment variable 1 needs a name') });
    expect(spaced.error).toContain('"MY VAR"');
    expect(twice.error).toBe('Environment variable A is given twice.');
  });
});
