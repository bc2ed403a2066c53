/**
 * A stand-in agent: an HTTP server on a Unix socket that answers as the test says and records
 * every request as "METHOD /path?query body", so client and CLI behaviour is checked without a daemon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

export interface FakeAgent {
  readonly socket: string;
  readonly requests: string[];
  close(): Promise<void>;
}

let dir: string | null = null;
let serial = 0;
process.on('exit', () => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
});

export async function fakeAgent(handler: Handler): Promise<FakeAgent> {
  dir ??= mkdtempSync(join(tmpdir(), 'swimd-fake-'));
  const socket = join(dir, `a${serial++}.sock`);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}${body === '' ? '' : ` ${body}`}`);
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}
