import { connect } from 'node:net';
import { type CheckResult, errorText } from './check-result.js';

/** One TCP check: passing when a connection is accepted within the timeout; it is closed at once. */
export function tcpCheck(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ health: 'critical', output: 'check cancelled' });
    const timer = setTimeout(() => finish({ health: 'critical', output: `no connection within ${timeoutMs} ms` }), timeoutMs);
    const socket = connect({ host, port });
    socket.once('connect', () => finish({ health: 'passing', output: `connected to ${host}:${port}` }));
    socket.once('error', (e) => finish({ health: 'critical', output: errorText(e) }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort);
  });
}
