import { Exposition } from '../metrics.js';
import { DNS_REJECT_REASONS, type DnsRejectReason, type Outcome, type DnsTransport } from './message.js';

/** Counters of the DNS face; every label value comes from a closed set. */
export class DnsMetrics {
  /** Answers sent, by transport and rcode. */
  readonly answers = new Map<string, number>();
  readonly rejected = new Map<DnsRejectReason, number>();
  truncated = 0;
  sendErrors = 0;
  /** TCP connections closed at once because dnsTcpConnectionsMax were open. */
  tcpRefused = 0;
  /** TCP connections closed for idling or for not reading their answers. */
  tcpClosedIdle = 0;
  tcpClosedSlowReader = 0;

  record(transport: DnsTransport, outcome: Outcome): void {
    if (outcome.kind === 'rejected') {
      this.rejected.set(outcome.reason, (this.rejected.get(outcome.reason) ?? 0) + 1);
      return;
    }
    const key = `${transport}\u0000${outcome.rcode}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    if (outcome.truncated) this.truncated++;
  }

  text(): string {
    const out = new Exposition();
    out.family('swimd_dns_answers_total', 'counter', 'DNS queries answered, by transport and response code.');
    for (const [key, n] of [...this.answers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const [transport = '', rcode = ''] = key.split('\u0000');
      out.sample('swimd_dns_answers_total', { transport, rcode }, n);
    }
    out.family('swimd_dns_rejected_total', 'counter',
      'DNS messages dropped or answered with FORMERR/REFUSED before any lookup, by reason.');
    for (const reason of DNS_REJECT_REASONS) out.sample('swimd_dns_rejected_total', { reason }, this.rejected.get(reason) ?? 0);
    out.single('swimd_dns_truncated_total', 'counter', 'DNS answers cut to fit and sent with the TC flag.', this.truncated);
    out.single('swimd_dns_send_errors_total', 'counter', 'DNS answers the socket failed to send.', this.sendErrors);
    out.family('swimd_dns_tcp_closed_total', 'counter', 'DNS TCP connections closed by the agent, by reason.');
    out.sample('swimd_dns_tcp_closed_total', { reason: 'busy' }, this.tcpRefused);
    out.sample('swimd_dns_tcp_closed_total', { reason: 'idle' }, this.tcpClosedIdle);
    out.sample('swimd_dns_tcp_closed_total', { reason: 'slow_reader' }, this.tcpClosedSlowReader);
    return out.text();
  }
}
