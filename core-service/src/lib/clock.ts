/** Milliseconds since the epoch. Injected so tests can move time without sleeping (docs/style.md §7). */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export const seconds = (ms: number) => Math.floor(ms / 1000);
