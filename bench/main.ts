import { parseOptions } from './options.js';
import { Progress } from './progress.js';
import { runReal } from './real/scenarios.js';
const o = parseOptions(process.argv.slice(2));
if (o === 'help') process.exit(0);
const p = new Progress();
const r = await runReal(o, p);
p.clear();
console.log(JSON.stringify(r.figures, null, 1));
