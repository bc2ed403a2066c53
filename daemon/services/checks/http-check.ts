import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Health } from '../../../protocol/messages.js';
import { DAEMON_LIMITS } from '../../limits.js';
import { VERSION } from '../../../client/contract/version.js';
import { type CheckResult, errorText } from './check-result.js';

/**
 * One HTTP check: GET the URL; 2xx is passing, 429 (the service is up but shedding load) is
 * warning, anything else — including a redirect, which is never followed — is critical, as is no
 * answer within the timeout. At most DAEMON_LIMITS.checkHttpBodyBytesMax bytes of the body are read,
 * for the log; the connection is never reused, so a check cannot leak sockets between runs.
 */
export function httpCheck(url: string, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    let res: IncomingMessage | null = null;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      res?.destroy();
      req?.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish({ health: 'critical', output: 'check cancelled' });
    // One deadline for the whole exchange: a server dribbling headers cannot stretch it.
    const timer = setTimeout(() => finish({ health: 'critical', output: `no answer within ${timeoutMs} ms` }), timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);

    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    try {
      req = send(url, {
        method: 'GET',
        agent: false,
        headers: { 'User-Agent': `swimd/${VERSION} health check`, Accept: '*/*', Connection: 'close' },
      });
    } catch (e) {
      return finish({ health: 'critical', output: errorText(e) });
    }
    req.on('error', (e) => finish({ health: 'critical', output: errorText(e) }));
    req.on('response', (r: IncomingMessage) => {
      res = r;
      const status = r.statusCode ?? 0;
      const health = healthOfStatus(status);
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        const body = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
        finish({ health, output: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${body === '' ? '' : `: ${body}`}` });
      };
      r.on('data', (c: Buffer) => {
        const room = DAEMON_LIMITS.checkHttpBodyBytesMax - size;
        if (room > 0) chunks.push(c.subarray(0, room));
        size += c.length;
        if (size >= DAEMON_LIMITS.checkHttpBodyBytesMax) done();
      });
      r.on('end', done);
      r.on('error', done);
    });
    req.end();
  });
}

export function healthOfStatus(status: number): Health {
  if (status >= 200 && status < 300) return 'passing';
  if (status === 429) return 'warning';
  return 'critical';
}
