import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';
import { DAEMON_LIMITS } from '../limits.js';
import { answerQuestion, type AnswerConfig, type DnsView, RCODE_VALUE, type Rcode, type Records } from './answer.js';
import { isEchoableName, labelsOf, parseQueryName } from './names.js';

/**
 * One DNS message in, at most one out: the checks every query passes before it is answered, EDNS0,
 * and fitting the answer into the transport's size (RFC 1035, 2181, 6891). Pure but for dns-packet.
 *
 * Hostile input is ordinary input here: a datagram too short or too long, or a response (QR set), is
 * dropped unanswered; one that does not decode, or asks more or less than one question, gets a bare
 * FORMERR header; each is counted by reason. Nothing a client sends can throw out of handleMessage.
 */

export type DnsTransport = 'udp' | 'tcp';

/** Why a message was not answered normally: the metric's label values (a closed set). */
export type DnsRejectReason =
  | 'too_short' | 'too_large' | 'response' | 'malformed' | 'question_count' | 'bad_name' | 'bad_opt' | 'bad_class';

export const DNS_REJECT_REASONS: readonly DnsRejectReason[] = [
  'too_short', 'too_large', 'response', 'malformed', 'question_count', 'bad_name', 'bad_opt', 'bad_class',
];

export type Outcome =
  | { readonly kind: 'answered'; readonly rcode: Rcode | 'BADVERS'; readonly truncated: boolean }
  | { readonly kind: 'rejected'; readonly reason: DnsRejectReason; readonly answered: boolean };

export interface Handled {
  /** The encoded answer, or null when nothing is sent back. */
  readonly reply: Buffer | null;
  readonly outcome: Outcome;
}

export interface MessageConfig extends AnswerConfig {
  /** `domain` split into labels. */
  readonly domainLabels: readonly string[];
}

const HEADER_BYTES = 12;
const FLAG_QR = 1 << 15;
const OPCODE_QUERY = 0;
/** Extended RCODE BADVERS (16): upper eight bits 1 in the OPT record, lower four bits 0. */
const BADVERS_UPPER = 1;

export function messageConfig(domain: string, ttl: number): MessageConfig {
  return { domain, ttl, domainLabels: labelsOf(domain) };
}

export function handleMessage(bytes: Buffer, transport: DnsTransport, view: DnsView, cfg: MessageConfig, rotate = 0): Handled {
  if (bytes.length > DAEMON_LIMITS.dnsQueryBytesMax) return rejected('too_large', null);
  if (bytes.length < HEADER_BYTES) return rejected('too_short', null);
  const id = bytes.readUInt16BE(0);
  const flags = bytes.readUInt16BE(2);
  // Never answer an answer: two servers could otherwise bounce packets between them forever.
  if ((flags & FLAG_QR) !== 0) return rejected('response', null);
  const opcode = (flags >> 11) & 0xf;
  const rd = flags & dnsPacket.RECURSION_DESIRED;
  if (opcode !== OPCODE_QUERY) {
    return { reply: bareHeader(id, (opcode << 11) | rd | RCODE_VALUE.NOTIMP), outcome: { kind: 'answered', rcode: 'NOTIMP', truncated: false } };
  }
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(bytes);
  } catch {
    return rejected('malformed', bareHeader(id, rd | RCODE_VALUE.FORMERR));
  }
  const questions = query.questions ?? [];
  const q = questions[0];
  if (questions.length !== 1 || q === undefined) return rejected('question_count', bareHeader(id, rd | RCODE_VALUE.FORMERR));
  if (typeof q.name !== 'string' || !isEchoableName(q.name)) return rejected('bad_name', bareHeader(id, rd | RCODE_VALUE.FORMERR));
  const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  const opt = opts[0];
  // RFC 6891 6.1.1: more than one OPT, or one not owned by the root, is a format error.
  if (opts.length > 1 || (opt !== undefined && opt.name !== '.')) return rejected('bad_opt', bareHeader(id, rd | RCODE_VALUE.FORMERR));
  // dns-packet types the decoded type by the names it knows; others arrive as 'UNKNOWN_n'.
  const question = { name: q.name, type: String(q.type), class: q.class ?? 'IN' };
  const base = { id, type: 'response' as const, questions: [{ name: q.name, type: q.type, class: question.class }] };
  if (opt !== undefined && opt.ednsVersion !== 0) {
    // RFC 6891 6.1.3: only version 0 exists; answer BADVERS with our own OPT.
    const reply = dnsPacket.encode({ ...base, flags: rd, additionals: [optRecord(BADVERS_UPPER)] });
    return { reply, outcome: { kind: 'answered', rcode: 'BADVERS', truncated: false } };
  }
  // CHAOS (version.bind) and the rest: not served. A bare header, since dns-packet cannot re-encode
  // a class it does not name.
  if (question.class !== 'IN' && question.class !== 'ANY') return rejected('bad_class', bareHeader(id, rd | RCODE_VALUE.REFUSED));
  // Zone transfers are not offered: there is no zone file, only a view.
  const records: Records = question.type === 'AXFR' || question.type === 'IXFR'
    ? { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] }
    : answerQuestion(question, parseQueryName(question.name, cfg.domainLabels), view, cfg, rotate);
  const limit = transport === 'tcp'
    ? DAEMON_LIMITS.dnsTcpMessageBytesMax
    : Math.min(DAEMON_LIMITS.dnsUdpPayloadMax, Math.max(DAEMON_LIMITS.dnsUdpPayloadDefault, opt?.udpPayloadSize ?? 0));
  const flagsOut = rd | (records.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE_VALUE[records.rcode];
  const fitted = fit({ ...base, flags: flagsOut }, records, opt === undefined ? [] : [optRecord(0)], limit);
  return { reply: dnsPacket.encode(fitted.packet), outcome: { kind: 'answered', rcode: records.rcode, truncated: fitted.truncated } };
}

function rejected(reason: DnsRejectReason, reply: Buffer | null): Handled {
  return { reply, outcome: { kind: 'rejected', reason, answered: reply !== null } };
}

/** A header with no sections: the answer to what cannot be parsed far enough to echo. */
function bareHeader(id: number, flags: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(FLAG_QR | (flags & 0x7fff), 2);
  return b;
}

function optRecord(extendedRcode: number): OptAnswer {
  return {
    type: 'OPT', name: '.', udpPayloadSize: DAEMON_LIMITS.dnsUdpPayloadMax, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [],
  };
}

/**
 * The largest answer that fits in `limit` bytes. Additional records go first, a name's RRset at a
 * time, without the TC flag (RFC 2181 9: they are not needed for the answer); when the answer
 * section itself does not fit, as many answer records as fit are sent with TC set, so the client
 * knows to ask again over TCP. The OPT record always stays.
 */
export function fit(head: Packet & { flags: number }, r: Records, opt: Answer[], limit: number): { packet: Packet; truncated: boolean } {
  const full: Packet = { ...head, answers: [...r.answers], authorities: [...r.authorities], additionals: [...r.additionals.flat(), ...opt] };
  const fullSize = dnsPacket.encodingLength(full);
  if (fullSize <= limit) return { packet: full, truncated: false };

  const bare: Packet = { ...head, answers: [], authorities: [], additionals: opt };
  let size = dnsPacket.encodingLength(bare);
  const sizeOf = (a: Answer): number => dnsPacket.encodingLength({ answers: [a] }) - HEADER_BYTES;
  const answers: Answer[] = [];
  let cut = false;
  for (const a of r.answers) {
    const n = sizeOf(a);
    if (size + n > limit) {
      cut = true;
      break;
    }
    answers.push(a);
    size += n;
  }
  if (cut) return { packet: { ...bare, flags: head.flags | dnsPacket.TRUNCATED_RESPONSE, answers }, truncated: true };
  const authorities: Answer[] = [];
  for (const a of r.authorities) {
    const n = sizeOf(a);
    if (size + n > limit) return { packet: { ...bare, flags: head.flags | dnsPacket.TRUNCATED_RESPONSE, answers }, truncated: true };
    authorities.push(a);
    size += n;
  }
  const additionals: Answer[] = [];
  for (const group of r.additionals) {
    const n = group.reduce((s, a) => s + sizeOf(a), 0);
    if (size + n > limit) continue;
    additionals.push(...group);
    size += n;
  }
  return { packet: { ...bare, answers, authorities, additionals: [...additionals, ...opt] }, truncated: false };
}
