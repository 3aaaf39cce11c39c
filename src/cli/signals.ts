/** --sig-proxy: forward the signals a terminal or supervisor sends to the container. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export function forwardSignals(send: (signal: string) => Promise<void>): () => void {
  const handlers = FORWARDED.filter((s) => s !== 'SIGWINCH').map((sig) => {
    const h = () => void send(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
