/**
 * A run's state history split into attempts: a restart (or a resume) schedules
 * the same run again, so each "Scheduled" after the first begins a new attempt.
 * Pure data work, unit-tested in node.
 */

export interface StateRecord {
  state: string;
  message: string | null;
  timestamp: number;
}

/** The states of each attempt, oldest attempt first; a history that does not begin Scheduled still makes one. */
export function runAttempts(states: StateRecord[]): StateRecord[][] {
  const attempts: StateRecord[][] = [];
  for (const record of states) {
    if (record.state === 'Scheduled' || !attempts.length) {
      attempts.push([]);
    }
    attempts[attempts.length - 1].push(record);
  }
  return attempts;
}

/** `Scheduled → Submitted → Running → Failed`: one attempt in a line. */
export function describeAttempt(attempt: StateRecord[]): string {
  return attempt.map(record => record.state).join(' → ');
}
