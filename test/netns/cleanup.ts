/**
 * Last-resort cleanup. Tests clean up in t.after hooks; this registry covers what those never reach:
 * an uncaught error that ends the process, Ctrl-C, or the test runner's SIGTERM. Namespaces outlive
 * the process that made them (and agents inside them keep running), so a leak here would stay on
 * the machine until someone notices.
 *
 * Only synchronous work can run in an 'exit' handler, so every registered action is synchronous.
 */

type Action = () => void;

const actions = new Map<number, Action>();
let nextId = 1;
let installed = false;

function runAll(): void {
  // Newest first: agents (registered after their network) die before their namespaces go.
  const pending = [...actions.entries()].reverse();
  actions.clear();
  for (const [, act] of pending) {
    try {
      act();
    } catch {
      /* best effort: the next action must still run */
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // The default action was replaced by this listener; restore it and re-raise so the exit status
  // still says which signal ended the run.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, onSignal);
}

/** Registers a synchronous cleanup; returns a function that unregisters it (after a normal cleanup). */
export function onAbnormalExit(action: Action): () => void {
  install();
  const id = nextId++;
  actions.set(id, action);
  return () => { actions.delete(id); };
}
