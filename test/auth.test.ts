import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { main } from '../src/cli/main.js';
import type { RunReport } from '../src/report/model.js';
import { MOSQUITTO_MISSING, mosquittoAvailable, startMosquitto } from './helpers/mosquitto.js';
import { runCli as runCliIn } from './helpers/run-cli.js';

/**
 * Brokers with users and an ACL, as a vendor runs them: the first identity may use `vendor/conform/#` only,
 * the second may connect and nothing else. Without credentials the run stops at the preflight (exit 3, one
 * message); with them, `--topic-prefix` places every case where the ACL allows and the ACL cases run with
 * the second identity.
 */
const PREFIX = 'vendor/conform';
/** The ACL cases, plus cases that only work when their topics are where the ACL allows them. */
const SELECTION = [
  '3.3.5/denied-*',
  '3.8.4/denied-*',
  '3.8.4/suback-per-filter',
  '4.3.2/qos1-delivery',
  '3.3.1/retain-replaces-stored',
];
const ACL_CASES = [
  '3.3.5/denied-publish-acknowledged-not-delivered',
  '3.8.4/denied-subscribe-answered',
  '3.8.4/denied-subscribe-refused',
];

interface Captured {
  code: number;
  out: string;
  err: string;
  report: RunReport;
}

async function runCli(args: string[]): Promise<Captured> {
  const r = await runCliIn([...args, '--no-color'], { prefix: 'mc-auth-' });
  const report = r.report();
  if (!report) throw new Error(`no report.json written:\n${r.all}`);
  return { code: r.code, out: r.out, err: r.err, report };
}

const FIRST = ['--username', 'alice', '--password', 'secret'];
const SECOND = ['--username2', 'bob', '--password2', 'hunter2'];

/** The same checks against each broker. */
function authSuite(
  target: () => string,
  codes: { '3.1.1': string; '5.0': string },
  refusesDeniedSubscriptions: boolean,
): void {
  it('without credentials: exit 3, one message naming the refusal, no case run', async () => {
    for (const protocol of ['3.1.1', '5.0'] as const) {
      const r = await runCli([target(), '--protocol', protocol]);
      expect(r.code, r.out + r.err).toBe(3);
      expect(r.err).toContain(
        `refused the suite's MQTT ${protocol} CONNECT with ${codes[protocol]} (not authorized); the broker requires credentials: pass --username/--password`,
      );
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.report.stoppedBy).toBe('not-authorized');
      expect(r.report.cases).toEqual([]);
      expect(r.out).toContain('RESULT: incomplete (not-authorized)');
      expect(r.out).not.toMatch(/not conformant/);
      // No empty per-section table, no coverage of nothing.
      expect(r.out).not.toContain('Summary by section');
      expect(r.out).not.toContain('statements checked');
    }
  });

  it('a wrong password or a refused second identity: exit 3 as well', async () => {
    const wrong = await runCli([
      target(),
      '--username',
      'alice',
      '--password',
      'nope',
      '--protocol',
      '3.1.1',
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.err).toMatch(/with 0x0[45] .*check --username\/--password \(user "alice"\)/);
    const second = await runCli([
      target(),
      ...FIRST,
      '--username2',
      'bob',
      '--password2',
      'nope',
      '--protocol',
      '5',
      '--only',
      SELECTION.join(','),
    ]);
    expect(second.code).toBe(3);
    expect(second.err).toMatch(
      /the second identity's MQTT 5.0 CONNECT with 0x8[67] .*--username2\/--password2/,
    );
  });

  it('with credentials, --topic-prefix and a second identity: conformant, the ACL cases judged', async () => {
    const r = await runCli([
      target(),
      ...FIRST,
      ...SECOND,
      '--topic-prefix',
      PREFIX,
      '--verbose',
      '--only',
      SELECTION.join(','),
    ]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.err).toBe('');
    for (const c of r.report.cases) {
      expect(['passed', 'info'], `${c.id} ${c.protocol} ${c.status} ${c.message ?? ''}`).toContain(c.status);
      // Every topic of the run is under the prefix.
      for (const m of c.wireLog?.matchAll(/topic: "([^"]*)"/g) ?? [])
        expect(m[1]!.startsWith(`${PREFIX}/`)).toBe(true);
    }
    const judged = r.report.cases.filter((c) => ACL_CASES.includes(c.id));
    expect(judged).toHaveLength(ACL_CASES.length * 2);
  });

  // Mosquitto grants a subscription its ACL denies and withholds the messages: without the prefix, cases
  // fail there (docs/cli.md says to use --topic-prefix).
  it.runIf(refusesDeniedSubscriptions)(
    'without --topic-prefix the ACL refuses the default topics, so those cases are skipped, not failed',
    async () => {
      const r = await runCli([target(), ...FIRST, '--only', '3.8.4/suback-per-filter,4.3.2/qos1-delivery']);
      expect(r.code, r.out).toBe(0);
      for (const c of r.report.cases) expect(c.status, `${c.id} ${c.message ?? ''}`).toBe('skipped');
    },
  );

  it('without a second identity the ACL cases are skipped with the reason', async () => {
    const r = await runCli([target(), ...FIRST, '--topic-prefix', PREFIX, '--only', ACL_CASES.join(',')]);
    expect(r.code).toBe(0);
    for (const c of r.report.cases) {
      expect(c.status).toBe('skipped');
      expect(c.message).toContain('--username2/--password2');
    }
  });
}

describe('options', () => {
  it('refuses a topic prefix that cannot head a topic, and --password2 without --username2 (exit 2)', async () => {
    for (const args of [
      ['--topic-prefix', 'a/#'],
      ['--topic-prefix', '$SYS/x'],
      ['--password2', 'x'],
    ]) {
      let err = '';
      const code = await main(['127.0.0.1:1', ...args], {
        stdout: () => undefined,
        stderr: (t) => {
          err += t;
        },
        isTTY: false,
        onSignal: () => () => undefined,
      });
      expect(code, args.join(' ')).toBe(2);
      expect(err).toMatch(
        args[0] === '--password2' ? /--password2 needs --username2/ : /--topic-prefix ".*": it/,
      );
    }
  });
});

describe('reference broker with users and an ACL', () => {
  let broker: { host: string; port: number; close(): Promise<void> };
  beforeAll(async () => {
    broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      config: {
        users: [
          { username: 'alice', password: 'secret' },
          { username: 'bob', password: 'hunter2' },
        ],
        acl: [{ topic: `${PREFIX}/#`, access: 'readwrite', username: 'alice' }],
      },
    });
  });
  afterAll(async () => {
    await broker?.close();
  });
  authSuite(() => `127.0.0.1:${broker.port}`, { '3.1.1': '0x05', '5.0': '0x87' }, true);
});

describe.skipIf(!mosquittoAvailable())(
  `mosquitto with a password file and an ACL file${mosquittoAvailable() ? '' : ` (${MOSQUITTO_MISSING})`}`,
  () => {
    let m: Awaited<ReturnType<typeof startMosquitto>>;
    beforeAll(async () => {
      m = await startMosquitto({
        configure: (dir) => {
          const passwd = join(dir, 'passwd');
          writeFileSync(passwd, 'alice:secret\nbob:hunter2\n');
          execFileSync('mosquitto_passwd', ['-U', passwd]);
          const acl = join(dir, 'acl');
          writeFileSync(acl, `user alice\ntopic readwrite ${PREFIX}/#\n\nuser bob\n`);
          // Run as root, mosquitto reads its files as the mosquitto user.
          chmodSync(dir, 0o755);
          for (const f of [passwd, acl]) chmodSync(f, 0o644);
          return ['allow_anonymous false', `password_file ${passwd}`, `acl_file ${acl}`];
        },
      });
    });
    afterAll(async () => {
      await m?.stop();
    });
    authSuite(() => `127.0.0.1:${m.port}`, { '3.1.1': '0x05', '5.0': '0x87' }, false);
  },
);
