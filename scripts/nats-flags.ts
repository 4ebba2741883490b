/** The CLI's NATS credential flags: each overrides its SKEIN_NATS_* variable. */
import { natsOptionsFrom, type NatsOptions } from '../runtime/nats-options.js';

export const NATS_FLAGS = {
  'nats-user': { type: 'string' },
  'nats-pass': { type: 'string' },
  'nats-token': { type: 'string' },
  'nats-nkey': { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
} as const;

export const NATS_FLAGS_USAGE = `NATS credentials (each flag overrides its environment variable):
  --nats-user <user>       and --nats-pass <password>        SKEIN_NATS_USER, SKEIN_NATS_PASS
  --nats-token <token>                                       SKEIN_NATS_TOKEN
  --nats-nkey <file>       a file holding an NKey seed       SKEIN_NATS_NKEY
  --nats-creds <file>      a creds file (user JWT and seed)  SKEIN_NATS_CREDS
  --nats-tls-ca <file>     the CA of the server's cert       SKEIN_NATS_TLS_CA
  --nats-tls-cert <file>   and --nats-tls-key <file>: a client certificate
                                                  SKEIN_NATS_TLS_CERT, SKEIN_NATS_TLS_KEY
  Prefer the variables or files for secrets: other users of the host can read a command line.
`;

type Values = { [K in keyof typeof NATS_FLAGS]?: string };

/** The flags given, as NatsOptions (unset fields fall back to the environment). */
export function natsOptionsOfFlags(v: Values): NatsOptions {
  return natsOptionsFrom(
    {
      user: v['nats-user'],
      pass: v['nats-pass'],
      token: v['nats-token'],
      nkeyFile: v['nats-nkey'],
      credsFile: v['nats-creds'],
      tlsCa: v['nats-tls-ca'],
      tlsCert: v['nats-tls-cert'],
      tlsKey: v['nats-tls-key'],
    },
    'the NKey seed file of --nats-nkey',
  );
}
