/** A run or task-run state as a coloured badge. */

import * as React from 'react';

import { stateColour, stateTextColour } from './states';

export function StateBadge(props: { state: string | null | undefined; testId?: string }): JSX.Element {
  const state = props.state ?? 'Unknown';
  return (
    <span
      className="jp-FlowsStateBadge"
      data-state={state}
      data-testid={props.testId ?? 'state-badge'}
      style={{ backgroundColor: stateColour(props.state), color: stateTextColour(props.state) }}
    >
      {state}
    </span>
  );
}
