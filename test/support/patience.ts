/**
 * How long a test waits for something that should happen soon. Generous on purpose: the
 * suite must pass on a busy 2-core machine, and a wait that succeeds returns at once.
 */
export const SOON = { timeout: 15_000, interval: 50 };
