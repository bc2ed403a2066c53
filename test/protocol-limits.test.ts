/**
 * Relations between protocol bounds that the code relies on but cannot state in limits.ts itself
 * (they need the codec). The relations that need nothing else are checked when limits.ts loads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCompound, encodePart } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';

test('the smallest packet holds one alive message of the largest size, wrapped by the transport', () => {
  const alive = encodePart({
    type: 'alive', name: 'n'.repeat(LIMITS.nameBytesMax), host: 'h'.repeat(LIMITS.addressBytesMax),
    port: 65_535, incarnation: LIMITS.incarnationMax,
  });
  const packet = encodeCompound([alive]);
  assert.ok(packet.length + LIMITS.wrapBytesMax <= LIMITS.packetBytesMin,
    `${packet.length} + ${LIMITS.wrapBytesMax} bytes exceed packetBytesMin ${LIMITS.packetBytesMin}`);
});

test('wrapBytesMax covers the largest cluster label', () => {
  assert.ok(LIMITS.wrapBytesMax > LIMITS.clusterLabelBytesMax);
});
