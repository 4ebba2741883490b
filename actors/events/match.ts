/** Which declared `onEvents` patterns an event key matches: exact, or `prefix*` (e.g. `order:*`). */
export function eventKeyMatches(pattern: string, key: string): boolean {
  return pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : pattern === key;
}

/** Why an `onEvents` pattern is unusable, or undefined. */
export function eventPatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern.trim() === '' || pattern.length > 255)
    return `an event key must be a non-empty string of at most 255 characters, got ${JSON.stringify(pattern)}`;
  if (pattern.slice(0, -1).includes('*'))
    return `event key pattern '${pattern}': '*' may only end a pattern (as in 'order:*')`;
  return undefined;
}
