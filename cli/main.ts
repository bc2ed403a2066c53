#!/usr/bin/env node
/** The `swimd` executable. */
import { makeCtx, processIo } from './context.js';
import { runCli } from './program.js';

const io = processIo();
const ctx = makeCtx(io);
const code = await runCli(process.argv.slice(2), io, ctx);
if (ctx.exitProcess) process.exit(code);
process.exitCode = code;
