import { describe, expect, it } from 'vitest';

import { apiPath, apiUrl, queryString } from '../src/url';

describe('API URLs', () => {
  it('puts every call under jupyter-flows/api', () => {
    expect(apiPath(['projects'])).toBe('jupyter-flows/api/projects');
  });

  it('joins the server base URL with or without its trailing slash', () => {
    expect(apiUrl('http://127.0.0.1:8888/', ['flows'])).toBe('http://127.0.0.1:8888/jupyter-flows/api/flows');
    expect(apiUrl('http://127.0.0.1:8888/user/ann', ['flows'])).toBe(
      'http://127.0.0.1:8888/user/ann/jupyter-flows/api/flows'
    );
  });

  it('percent-encodes path segments so an id cannot climb out of its route', () => {
    expect(apiPath(['flow-runs', '../../api/contents', 'logs'])).toBe(
      'jupyter-flows/api/flow-runs/..%2F..%2Fapi%2Fcontents/logs'
    );
  });

  it('encodes query values and leaves out the ones not given', () => {
    expect(queryString({ project: 'data team & co', flow_id: undefined, after: null, limit: 5 })).toBe(
      'project=data%20team%20%26%20co&limit=5'
    );
    expect(apiPath(['flow-runs', 'abc', 'logs'], { after: 42 })).toBe('jupyter-flows/api/flow-runs/abc/logs?after=42');
  });

  it('keeps a zero or false query value', () => {
    expect(queryString({ offset: 0, archived: false })).toBe('offset=0&archived=false');
  });

  it('has no question mark when there is no query', () => {
    expect(apiPath(['flow-runs'], { state: undefined })).toBe('jupyter-flows/api/flow-runs');
  });
});
