/**
 * protocol/ is the sans-IO core: the daemon drives it with real time, the simulator with virtual
 * time, so it may not read a clock, use a global random source, set a timer or touch I/O itself.
 * This reads its sources (comments stripped) and refuses any such use.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROTOCOL = join(ROOT, 'protocol');

/** Pure helpers from Node's standard library the core may use (no clock, no I/O). */
const NODE_IMPORTS_ALLOWED = new Set(['node:buffer']);

const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bMath\.random\b/, 'global random source (use the seeded Rng)'],
  [/\bDate\.now\b|\bnew Date\b/, 'wall clock (time is an input)'],
  [/\bperformance\.now\b|\bprocess\.hrtime\b/, 'clock (time is an input)'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timer (return a deadline instead)'],
  [/\bprocess\./, 'process state'],
  [/\bcrypto\.getRandomValues\b|\brandomBytes\b/, 'global random source'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('protocol/ uses no clock, global randomness, timers or I/O', () => {
  const files = sources(PROTOCOL);
  assert.ok(files.length > 20, `found the protocol sources (${files.length} files under ${PROTOCOL})`);
  const problems: string[] = [];
  for (const file of files) {
    const code = withoutComments(readFileSync(file, 'utf8'));
    const where = relative(ROOT, file);
    for (const [pattern, what] of FORBIDDEN) if (pattern.test(code)) problems.push(`${where}: ${what} (${pattern.source})`);
    for (const m of code.matchAll(/\bfrom\s+['"](node:[^'"]+|[^.'"][^'"]*)['"]/g)) {
      const mod = m[1] as string;
      if (mod.startsWith('node:') && !NODE_IMPORTS_ALLOWED.has(mod)) problems.push(`${where}: imports ${mod}`);
      if (!mod.startsWith('node:') && mod !== 'msgpackr') problems.push(`${where}: imports package ${mod}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the purity check catches what it is meant to catch', () => {
  const bad = withoutComments("// Math.random() in a comment is fine\nconst t = Date.now();\nimport { x } from 'node:fs';");
  assert.ok(!FORBIDDEN[0]?.[0].test(bad), 'comments are ignored');
  assert.ok(FORBIDDEN[1]?.[0].test(bad), 'a clock read is found');
  assert.match(bad, /from 'node:fs'/);
});
