/** A transport address. Hosts are IP literals (v4 or v6) or, in the simulator, opaque names. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

export function addressKey(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

/** Parses "host:port", "[v6]:port" or "v6-literal" with a default port. Returns null when malformed. */
export function parseHostPort(text: string, defaultPort?: number): Address | null {
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (rest === '') portText = undefined;
    else if (rest.startsWith(':')) portText = rest.slice(1);
    else return null;
  } else {
    const colons = s.split(':').length - 1;
    if (colons === 1) {
      const i = s.lastIndexOf(':');
      host = s.slice(0, i);
      portText = s.slice(i + 1);
    } else {
      host = s;
      portText = undefined;
    }
  }
  if (host === '') return null;
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return null;
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return null;
  return { host, port };
}
