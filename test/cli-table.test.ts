import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMembers } from '../cli/commands/members.js';
import { formatRecord, formatTable, renderValue, sanitizeCell } from '../cli/table.js';

test('columns are as wide as their widest cell, two spaces apart, no trailing spaces', () => {
  const out = formatTable(['NAME', 'ADDRESS'], [['a', '127.0.0.1:1'], ['longer-name', 'x']]);
  assert.equal(out, [
    'NAME         ADDRESS',
    'a            127.0.0.1:1',
    'longer-name  x',
    '',
  ].join('\n'));
});

test('right-aligned columns pad on the left', () => {
  const out = formatTable(['N', { header: 'COUNT', align: 'right' }], [['a', '7'], ['b', '12345']]);
  assert.equal(out, 'N  COUNT\na      7\nb  12345\n');
});

test('a table without rows is just the header line', () => {
  assert.equal(formatTable(['NAME', 'STATUS'], []), 'NAME  STATUS\n');
});

test('short rows are padded and extra cells ignored', () => {
  assert.equal(formatTable(['A', 'B'], [['1'], ['2', '3', '4']]), 'A  B\n1\n2  3\n');
});

test('width counts code points, not UTF-16 units', () => {
  const out = formatTable(['N', 'X'], [['\u{1F600}', 'y'], ['ab', 'z']]);
  assert.equal(out, 'N   X\n\u{1F600}   y\nab  z\n');
});

test('control characters from gossiped names cannot reach the terminal', () => {
  assert.equal(sanitizeCell('evil\u001b[2Jname\u0007\u009b'), 'evil?[2Jname??');
  const out = formatTable(['NAME'], [['a\nb']]);
  assert.equal(out, 'NAME\na?b\n');
});

test('members are sorted by name with host:port addresses, IPv6 bracketed', () => {
  const out = formatMembers([
    { name: 'n2', address: '::1', port: 7946, status: 'suspect', incarnation: 3 },
    { name: 'n10', address: '127.0.0.1', port: 7000, status: 'alive', incarnation: 12 },
  ]);
  assert.equal(out, [
    'NAME  ADDRESS         STATUS   INCARNATION',
    'n10   127.0.0.1:7000  alive             12',
    'n2    [::1]:7946      suspect            3',
    '',
  ].join('\n'));
});

test('records render one field a line, values made printable', () => {
  const out = formatRecord({ name: 'n0', port: 7946, tags: ['a', 'b'], none: null, nested: { k: 1 } });
  assert.equal(out, [
    'FIELD   VALUE',
    'name    n0',
    'port    7946',
    'tags    a,b',
    'none    -',
    'nested  {"k":1}',
    '',
  ].join('\n'));
  assert.equal(renderValue([]), '-');
  assert.equal(renderValue(true), 'true');
});
