import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { checkHttpOptions, isLoopback } from './http-options.js';

const TOKEN = 'sixteen-chars-ok';

describe('http options', () => {
  it('default to 127.0.0.1 without a token, or the token from the environment', () => {
    expect(checkHttpOptions({ port: 0 }, {})).toEqual({
      port: 0,
      host: '127.0.0.1',
      token: undefined,
      loopback: true,
    });
    expect(checkHttpOptions({ port: 80 }, { SKEIN_DASHBOARD_TOKEN: TOKEN }).token).toBe(TOKEN);
  });

  it('refuse a host others reach without a token, a short token and unknown keys', () => {
    expect(() => checkHttpOptions({ port: 0, host: '0.0.0.0' }, {})).toThrow(ValidationError);
    expect(checkHttpOptions({ port: 0, host: '0.0.0.0', token: TOKEN }, {}).loopback).toBe(false);
    expect(() => checkHttpOptions({ port: 0, token: 'short' }, {})).toThrow(/at least 16/);
    expect(() => checkHttpOptions({ port: 0, tokn: TOKEN } as never, {})).toThrow(
      /did you mean 'token'/,
    );
    expect(() => checkHttpOptions({ port: -1 }, {})).toThrow(ValidationError);
  });

  it('know loopback names', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', 'example.com', '::'])
      expect(isLoopback(host), host).toBe(false);
  });
});
