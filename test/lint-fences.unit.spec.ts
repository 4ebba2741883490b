import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The layer fences of eslint.config.js bite on an import that crosses them. */
const eslint = new ESLint();

async function restrictedImports(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: file });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint fences', () => {
  it('refuse an engine module in sdk/ and say why', async () => {
    const refused = await restrictedImports(
      'sdk/fence-probe.ts',
      "export { startEngine } from '../runtime/engine.js';\n" +
        "export type { Journal } from '../runtime/journal.js';\n",
    );
    expect(refused).toHaveLength(2);
    expect(refused[0]).toContain('sdk/ may import only the wire layer of runtime/');
  });

  it('let sdk/ import the wire layer', async () => {
    const refused = await restrictedImports(
      'sdk/fence-probe.ts',
      "export { encode } from '../runtime/codec.js';\n" +
        "export { names } from '../runtime/protocol.js';\n" +
        "export { lastEntry } from '../runtime/journal-entries.js';\n",
    );
    expect(refused).toEqual([]);
  });

  it('keep the NATS client out of actors/ and the SDK out of runtime/', async () => {
    expect(
      await restrictedImports(
        'actors/fence-probe.ts',
        "export { connect } from '@nats-io/transport-node';\n",
      ),
    ).toHaveLength(1);
    expect(
      await restrictedImports(
        'runtime/fence-probe.ts',
        "export { Skein } from '../sdk/client.js';\n",
      ),
    ).toHaveLength(1);
  });
});
