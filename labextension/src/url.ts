/**
 * Where the server extension's REST API lives, and how request URLs are built.
 *
 * Pure string work (no JupyterLab imports) so that it is unit-tested in node:
 * every path segment and query value that comes from data (run ids, project
 * names) is percent-encoded here, once, instead of at each call site.
 */

export const API_ROOT = ['jupyter-flows', 'api'];

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

/** `a=1&b=x%20y` from `{a: 1, b: 'x y'}`; null and undefined values are left out. */
export function queryString(query: Query = {}): string {
  return Object.keys(query)
    .filter(key => query[key] !== undefined && query[key] !== null)
    .map(key => `${encodeURIComponent(key)}=${encodeURIComponent(String(query[key]))}`)
    .join('&');
}

/** `jupyter-flows/api/flow-runs/<id>/logs?after=3`: the API path below the server's base URL. */
export function apiPath(segments: Array<string | number>, query?: Query): string {
  const path = [...API_ROOT, ...segments.map(s => encodeURIComponent(String(s)))].join('/');
  const qs = queryString(query);
  return qs ? `${path}?${qs}` : path;
}

/** The full URL of an API path under `baseUrl` (which may or may not end in a slash). */
export function apiUrl(baseUrl: string, segments: Array<string | number>, query?: Query): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return base + apiPath(segments, query);
}
