/** The Flows icon: three task nodes joined by edges. */

import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="3"/>
    <circle cx="5" cy="18" r="3"/>
    <circle cx="19" cy="12" r="3"/>
    <path d="M7.4 7.3l9.3 3.6-.7 1.8-9.3-3.6zM6.7 16.9l9.3-3.6.7 1.8-9.3 3.6z"/>
  </g>
</svg>`;

export const flowsIcon = new LabIcon({ name: 'jupyter-flows:flows', svgstr: svg });
