/** CEL expressions in declarations, checked when they are declared. */
import { parse } from '@marcbachmann/cel-js';
import { ValidationError } from './errors.js';

/** Throws a ValidationError naming `where` when `expression` is not valid CEL. */
export function assertCel(expression: string, where: string) {
  try {
    parse(expression);
  } catch (err) {
    throw new ValidationError(
      `${where}: bad CEL expression ${JSON.stringify(expression)}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}
