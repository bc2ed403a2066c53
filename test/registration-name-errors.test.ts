/** A bad service name is reported as the name (--name), not as the id that defaults to it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldError } from '../client/contract/field-error.js';
import { parseRegistration } from '../client/contract/registration.js';
import { runCli } from './helpers/cluster.js';

function fieldOf(v: unknown): string {
  try {
    parseRegistration(v);
  } catch (e) {
    if (e instanceof FieldError) return e.message;
    throw e;
  }
  assert.fail('expected a FieldError');
}

test('a name with a space, or longer than the limit, is reported as name', () => {
  assert.match(fieldOf({ name: 'bad name', port: 80 }), /^name: may hold letters/);
  assert.match(fieldOf({ name: 'x'.repeat(129), port: 80 }), /^name: .*longer than 128 bytes/);
});

test('an explicit bad id is still reported as id', () => {
  assert.match(fieldOf({ name: 'web', id: 'bad id', port: 80 }), /^id: /);
});

test('swimd register names --name for a bad name, before contacting any agent', async () => {
  for (const name of ['bad name', 'x'.repeat(129)]) {
    const r = await runCli(['register', '--name', name, '--port', '80', '--socket', '/nonexistent/swimd.sock']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^swimd: --name: /);
  }
});
