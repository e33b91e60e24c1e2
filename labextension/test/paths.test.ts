import { describe, expect, it } from 'vitest';

import { flowNameForPath, outputDirForPath } from '../src/paths';

describe('a notebook run as a flow', () => {
  it('is named after its file', () => {
    expect(flowNameForPath('analysis/report.ipynb')).toBe('report');
    expect(flowNameForPath('Report.IPYNB')).toBe('Report');
  });

  it('keeps its executed copies in a folder beside it', () => {
    expect(outputDirForPath('analysis/q1/report.ipynb')).toBe('analysis/q1/report-runs');
    expect(outputDirForPath('report.ipynb')).toBe('report-runs');
  });
});
