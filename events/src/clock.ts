/** The only source of "now" below server.ts: tests pass a clock they move (docs/style.md §7). */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
