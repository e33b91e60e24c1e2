/** Names derived from a notebook's path (as JupyterLab gives it, relative to the server root). */

/** `analysis/report.ipynb` -> `report`: the flow name a notebook gets unless the user types another. */
export function flowNameForPath(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.ipynb$/i, '');
}

/** `analysis/report.ipynb` -> `analysis/report-runs`: where its executed copies go, beside it. */
export function outputDirForPath(path: string): string {
  const parts = path.split('/');
  const folder = parts.slice(0, -1).join('/');
  const runs = `${flowNameForPath(path)}-runs`;
  return folder ? `${folder}/${runs}` : runs;
}
