/** Waiting for Ctrl-C (SIGINT) or SIGTERM; a second one while stopping calls `force`. */
export interface Signalled {
  name: NodeJS.Signals;
  /** Stop listening for the second signal (once stopped). */
  release(): void;
}

export async function untilSignal(force: () => void): Promise<Signalled> {
  const name = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve(s);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  return {
    name,
    release() {
      process.removeListener('SIGINT', force);
      process.removeListener('SIGTERM', force);
    },
  };
}
