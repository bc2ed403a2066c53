import { readFileSync } from 'node:fs';

/**
 * The package version, read once from package.json (three levels above dist/client/contract/); the
 * agent reports it in GET /v1/info and `swimd --version` prints it.
 */
export const VERSION: string = readVersion();

function readVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const v = (parsed as Record<string, unknown>)['version'];
      if (typeof v === 'string' && v.length <= 64) return v;
    }
  } catch {
    // Running from an unusual layout; the version is informational only.
  }
  return 'unknown';
}
