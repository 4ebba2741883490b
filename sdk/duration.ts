/** Durations: parsed in the wire layer, since the engine reads them too (its `retention`). */
export { toMs, type Duration } from '../runtime/duration.js';
