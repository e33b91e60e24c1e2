/**
 * Run and task-run states: their badge colours and which of them are still live.
 *
 * The colours are the ones users of the Prefect 1 UI know, so a glance at a
 * badge tells the state before its text is read.
 */

export const STATE_COLOURS: Record<string, string> = {
  Scheduled: '#ffab00',
  Submitted: '#fdd835',
  Running: '#00b0ff',
  Paused: '#99a8e8',
  Success: '#28a745',
  Failed: '#dc3545',
  Cancelled: '#607d8b',
  TriggerFailed: '#c42800',
  TimedOut: '#fb8c00',
  Mapped: '#97c8a1',
  Skipped: '#9e9e9e',
  Cached: '#ffa500'
};

/** Colour of a state we do not know (a newer backend's state, or none yet). */
export const UNKNOWN_STATE_COLOUR = '#bdbdbd';

/** Flow-run states in which the run may still change: views keep polling while one is shown. */
export const ACTIVE_STATES = ['Scheduled', 'Submitted', 'Running'];

export function stateColour(state: string | null | undefined): string {
  return (state && STATE_COLOURS[state]) || UNKNOWN_STATE_COLOUR;
}

export function isActive(state: string | null | undefined): boolean {
  return !!state && ACTIVE_STATES.includes(state);
}

/** Relative luminance of a `#rrggbb` colour (WCAG 2 definition). */
export function luminance(hex: string): number {
  const match = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!match) {
    throw new Error(`expected a colour like #28a745, got ${JSON.stringify(hex)}`);
  }
  const value = parseInt(match[1], 16);
  const channels = [(value >> 16) & 255, (value >> 8) & 255, value & 255].map(c => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
}

/** WCAG contrast ratio of white text on a background of luminance `background`. */
function contrastOfWhite(background: number): number {
  return 1.05 / (background + 0.05);
}

/**
 * White text where it keeps the 3:1 contrast WCAG asks of bold badge text
 * (the look users expect on red and green badges), else black.
 */
export function stateTextColour(state: string | null | undefined): string {
  return contrastOfWhite(luminance(stateColour(state))) >= 3 ? '#ffffff' : '#000000';
}
