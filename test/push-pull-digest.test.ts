/**
 * The state digest of periodic push-pull: what it covers, its wire fields (appended, ignored by an
 * older decoder, hostile values refused), and how a node answers a digest request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decodePushPull, encodePushPull } from '../protocol/codec.js';
import { MessageType, PROTOCOL_VERSION, type MemberState, type PushPullMsg, type ServiceMsg, type SplitMsg, type StateDigest } from '../protocol/messages.js';
import { DigestBuilder, type DigestMember, sameDigest } from '../protocol/state-digest.js';
import { addressOf, makeNode, peers, rejections } from './helpers/one-node.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** A push-pull stream body as raw msgpack, fields as given. */
function raw(fields: unknown[]): Uint8Array {
  const body = packr.pack(fields);
  const out = new Uint8Array(2 + body.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = MessageType.PushPull;
  out.set(body, 2);
  return out;
}

function bodyOf(bytes: Uint8Array): unknown[] {
  return packr.unpack(bytes.subarray(2)) as unknown[];
}

const MEMBER: DigestMember = { name: 'n1', host: '10.0.0.1', port: 7946, incarnation: 3, status: 'alive' };
const ENTRY: ServiceMsg = {
  type: 'service', node: 'n1', id: 'web', rev: 4, deleted: false, name: 'web', address: '10.1.1.1', port: 80,
  tags: ['a', 'b'], meta: [['k', 'v']], version: '1.2', weight: 10, health: 'passing', draining: false,
};
const SPLIT: SplitMsg = { type: 'split', service: 'web', wallMs: 1_700_000_000_000, counter: 2, writer: 'n1', cleared: false, weights: [['v1', 100]] };

function digestOf(members: readonly DigestMember[], entries: readonly ServiceMsg[] = [], splits: readonly SplitMsg[] = []): StateDigest {
  const d = new DigestBuilder();
  for (const m of members) d.member(m);
  for (const e of entries) d.entry(e);
  for (const s of splits) d.split(s);
  return d.result();
}

test('the digest ignores order, counts duplicates, and separates record kinds and field boundaries', () => {
  const m2: DigestMember = { ...MEMBER, name: 'n2', host: '10.0.0.2' };
  assert.deepEqual(digestOf([MEMBER, m2], [ENTRY], [SPLIT]), digestOf([m2, MEMBER], [ENTRY], [SPLIT]));
  assert.ok(!sameDigest(digestOf([MEMBER, MEMBER]), digestOf([MEMBER])), 'a record counted twice does not cancel');
  assert.ok(!sameDigest(digestOf([MEMBER, MEMBER]), digestOf([])), 'a record counted twice does not cancel');
  assert.ok(!sameDigest(digestOf([{ ...MEMBER, name: 'ab', host: 'c' }]), digestOf([{ ...MEMBER, name: 'a', host: 'bc' }])), 'field boundaries count');
  const d = digestOf([MEMBER], [ENTRY], [SPLIT]);
  for (const lane of [d.a, d.b]) assert.ok(Number.isInteger(lane) && lane >= 0 && lane <= 0xffff_ffff);
});

test('changing any covered field of a member, an entry or a split changes the digest', () => {
  const memberChanges: DigestMember[] = [
    { ...MEMBER, name: 'n9' }, { ...MEMBER, host: '10.0.0.9' }, { ...MEMBER, port: 7947 },
    { ...MEMBER, incarnation: 4 }, { ...MEMBER, status: 'suspect' }, { ...MEMBER, status: 'dead' }, { ...MEMBER, status: 'left' },
  ];
  const base = digestOf([MEMBER], [ENTRY], [SPLIT]);
  for (const m of memberChanges) assert.ok(!sameDigest(digestOf([m], [ENTRY], [SPLIT]), base), `member ${JSON.stringify(m)}`);
  const entryChanges: ServiceMsg[] = [
    { ...ENTRY, node: 'n2' }, { ...ENTRY, id: 'web2' }, { ...ENTRY, rev: 5 }, { ...ENTRY, deleted: true }, { ...ENTRY, name: 'api' },
    { ...ENTRY, address: '10.1.1.2' }, { ...ENTRY, port: 81 }, { ...ENTRY, tags: ['a'] }, { ...ENTRY, tags: ['b', 'a'] },
    { ...ENTRY, meta: [['k', 'w']] }, { ...ENTRY, meta: [] }, { ...ENTRY, version: '1.3' }, { ...ENTRY, weight: 11 },
    { ...ENTRY, health: 'critical' }, { ...ENTRY, draining: true },
  ];
  for (const e of entryChanges) assert.ok(!sameDigest(digestOf([MEMBER], [e], [SPLIT]), base), `entry ${JSON.stringify(e)}`);
  const splitChanges: SplitMsg[] = [
    { ...SPLIT, service: 'api' }, { ...SPLIT, wallMs: SPLIT.wallMs + 1 }, { ...SPLIT, wallMs: SPLIT.wallMs + 2 ** 32 },
    { ...SPLIT, counter: 3 }, { ...SPLIT, writer: 'n2' }, { ...SPLIT, cleared: true, weights: [] },
  ];
  for (const s of splitChanges) assert.ok(!sameDigest(digestOf([MEMBER], [ENTRY], [s]), base), `split ${JSON.stringify(s)}`);
});

test('a digest request and an in-sync reply round-trip; an older decoder sees an empty state', () => {
  const request: PushPullMsg = { type: 'push-pull', join: false, source: 'n1', members: [], services: [], digest: { a: 0xffff_ffff, b: 0 } };
  const bytes = encodePushPull(request);
  const decoded = decodePushPull(bytes);
  assert.ok(decoded.ok);
  assert.deepStrictEqual(decoded.value, request);
  const reply: PushPullMsg = { type: 'push-pull', join: false, source: 'n2', members: [], services: [], inSync: true };
  const r = decodePushPull(encodePushPull(reply));
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value, reply);
  // An older agent reads fields 0–6 only: there it finds a state with no members, entries or splits.
  const body = bodyOf(bytes);
  assert.equal(body.length, 8);
  assert.deepStrictEqual(body.slice(0, 7), [false, 'n1', [], [], null, null, null]);
  const old = decodePushPull(raw(body.slice(0, 7)));
  assert.ok(old.ok);
  assert.deepStrictEqual(old.value, { type: 'push-pull', join: false, source: 'n1', members: [], services: [] });
  // A state without the new fields encodes as before: no trailing nils.
  assert.equal(bodyOf(encodePushPull({ type: 'push-pull', join: false, source: 'n1', members: [], services: [] })).length, 4);
  // The digest beside a page cursor keeps the cursor where older agents read it.
  const paged = bodyOf(encodePushPull({ ...request, pageFrom: { node: 'n3', id: 'x' } }));
  assert.deepStrictEqual(paged.slice(4, 8), [['n3', 'x'], null, null, [0xffff_ffff, 0]]);
});

test('hostile digests and flags are refused as bad_field, never a crash', () => {
  const head = [false, 'n1', [], [], null, null, null];
  const badDigests: unknown[] = [
    'abc', 7, [], [1], [1, 2, 3], [-1, 0], [0, 2 ** 32], [1.5, 0], ['1', 2], [null, 0], { a: 1, b: 2 }, [[1], 2], true,
  ];
  for (const digest of badDigests) {
    const d = decodePushPull(raw([...head, digest]));
    assert.ok(!d.ok, `digest ${JSON.stringify(digest)} refused`);
    assert.equal(d.reason, 'bad_field', `digest ${JSON.stringify(digest)}`);
    assert.match(d.detail, /push-pull\.digest/);
  }
  for (const flag of [1, 0, 'true', [], {}]) {
    const d = decodePushPull(raw([...head, null, flag]));
    assert.ok(!d.ok && d.reason === 'bad_field' && /push-pull\.inSync/.test(d.detail), `inSync ${JSON.stringify(flag)}`);
  }
  // "In sync" stands for the state it leaves out: one that carries some is malformed.
  const withState = decodePushPull(raw([false, 'n1', [['m', 'h', 1, 0, 0]], [], null, null, null, null, true]));
  assert.ok(!withState.ok && withState.reason === 'bad_field');
  // nil in either place means "none"; false is a plain "not in sync".
  const plain = decodePushPull(raw([...head, null, false]));
  assert.ok(plain.ok && plain.value.digest === undefined && plain.value.inSync === undefined);
});

/** A node at SELF that knows `count` peers, learned from a join state of p1's, one of them dead. */
function nodeWithPeers(count: number, now: number): ReturnType<typeof makeNode> {
  const node = makeNode({ seed: 1 });
  const members: MemberState[] = peers(count);
  members[count - 1] = { ...(members[count - 1] as MemberState), status: 'dead', ageMs: 1_000 };
  const state = encodePushPull({ type: 'push-pull', join: true, source: 'p1', members, services: [] });
  const r = node.handlePushPull(now, addressOf(members[0] as MemberState), state);
  assert.ok(r.value !== null);
  return node;
}

function requestWith(digest: StateDigest, extra: Partial<PushPullMsg> = {}): Uint8Array {
  return encodePushPull({ type: 'push-pull', join: false, source: 'p1', members: [], services: [], digest, ...extra });
}

test('a node answers an equal digest "in sync" with no state, and any other with its full state', () => {
  const node = nodeWithPeers(5, 1_000);
  const from = addressOf(peers(1)[0] as MemberState);
  // What the node holds: itself and five peers, one dead; nothing else.
  const equal = digestOf(node.members());
  const inSync = node.handlePushPull(2_000, from, requestWith(equal));
  assert.ok(inSync.value !== null);
  const reply = decodePushPull(inSync.value);
  assert.ok(reply.ok);
  assert.deepStrictEqual(reply.value, { type: 'push-pull', join: false, source: 'self', members: [], services: [], inSync: true });
  assert.ok(inSync.value.length < 20, `an in-sync reply is a few bytes: ${inSync.value.length}`);
  // A dead member's age grows but is no part of the digest: still in sync much later.
  const later = node.handlePushPull(200_000, from, requestWith(equal));
  assert.ok(later.value !== null && decodePushPull(later.value).ok);
  assert.equal((decodePushPull(later.value) as { ok: true; value: PushPullMsg }).value.inSync, true, 'a dead member\'s age is not covered');
  // A full state with a digest (the follow-up of a digest answered with a state): merged, then
  // compared; nothing left to send back is "in sync".
  const followUp = encodePushPull({ type: 'push-pull', join: false, source: 'p1', members: peers(5), services: [], digest: equal });
  const answer = node.handlePushPull(2_000, from, followUp);
  assert.ok(answer.value !== null);
  assert.equal((decodePushPull(answer.value) as { ok: true; value: PushPullMsg }).value.inSync, true, 'a follow-up that leaves nothing to send back');
  // One status different: the full state, which an older agent also sends.
  const differs = digestOf(node.members().map((m) => (m.name === 'p2' ? { ...m, status: 'suspect' as const } : m)));
  const full = node.handlePushPull(2_000, from, requestWith(differs));
  assert.ok(full.value !== null);
  const state = decodePushPull(full.value);
  assert.ok(state.ok);
  assert.equal(state.value.inSync, undefined);
  assert.equal(state.value.members.length, 6);
});

test('a node counts hostile digest traffic and goes on', () => {
  const node = nodeWithPeers(3, 1_000);
  const from = addressOf(peers(1)[0] as MemberState);
  // A malformed digest: refused and counted, no reply.
  const bad = node.handlePushPull(2_000, from, raw([false, 'p1', [], [], null, null, null, [1, 2, 3]]));
  assert.equal(bad.value, null);
  assert.deepEqual(rejections(bad.effects).map((r) => r.reason), ['bad_field']);
  // "In sync" in a request means nothing: counted, ignored, answered with the full state.
  const flagged = node.handlePushPull(2_000, from, raw([false, 'p1', [], [], null, null, null, null, true]));
  assert.deepEqual(rejections(flagged.effects).map((r) => r.reason), ['bad_field']);
  assert.ok(flagged.value !== null);
  const state = decodePushPull(flagged.value);
  assert.ok(state.ok && state.value.members.length === 4);
  // An "in sync" reply to a digest this node never sent: counted, and nothing else changes.
  const before = node.members();
  const stray = node.handlePushPullReply(2_000, from, encodePushPull({ type: 'push-pull', join: false, source: 'p1', members: [], services: [], inSync: true }));
  assert.deepEqual(rejections(stray).map((r) => r.reason), ['bad_field']);
  assert.deepEqual(node.members(), before);
});
