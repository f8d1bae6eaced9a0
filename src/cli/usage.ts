export const USAGE = `Usage: mqtt-conform [target] [options]
       mqtt-conform broker [--host HOST] [--port PORT] [--config FILE] [--log-level LEVEL]
       mqtt-conform fuzz [target | --spawn CMD | --compare A B] [options]   (mqtt-conform fuzz --help)
       mqtt-conform replay FILE [target | --spawn CMD]
       mqtt-conform matrix RESULTS.json ... [--html FILE]               (cases x brokers, HTML)
       mqtt-conform merge RESULTS.json ... [report options]              (one report from shards)

Runs the MQTT conformance scenarios against a broker. target is host:port, mqtt://host[:port],
mqtts://host[:port], ws://host[:port]/path or wss://host[:port]/path (MQTT over WebSocket); without one, the
bundled reference broker is started on a free loopback port.
\`mqtt-conform broker\` runs that reference broker in the foreground (\`mqtt-conform broker --help\`).

Options:
  --protocol 3.1.1|5|all     protocol versions to test (default all)
  --only SEL                 run only matching cases; SEL is a section prefix (3.3), a case id glob
                             (3.3.1/retain-*) or a statement id (MQTT-3.3.1-5); repeatable, comma-separated
  --exclude SEL              leave matching cases out (same selectors)
  --list                     list the selected cases and exit (dry run)
  --strict                   should-level (non-strict) results fail the run too
  --username U, --password P credentials for every CONNECT
  --username2 U, --password2 P
                             a second identity, which the ACL denies publishing and subscribing under
                             the topic prefix: the ACL cases run with it (skipped without)
  --topic-prefix P           first level(s) of every test topic (default mqtt-conform): the namespace the
                             broker's ACL allows the first identity
  --reports DIR              folder for junit.xml, report.json, report.html (default reports/)
  --junit FILE               JUnit XML path (default DIR/junit.xml)
  --json FILE                JSON report path (default DIR/report.json)
  --html FILE                HTML report path (default DIR/report.html)
  --reporter github          also write GitHub Actions annotations (one per failing case) to stdout
  --require 3.1.1,5.0        fail the run when a listed version was skipped entirely (e.g. declined)
  --shard i/n                run the i-th of n deterministic parts of the selection (then: merge)
  --config FILE              settings file (default ./mqtt-conform.config.yaml when present);
                             the command line wins over it
  --concurrency N            cases run at once (default 8)
  --timeout MS               bound for each wait of a step (default 5000)
  --expected-failures FILE   YAML list of { id, reason, protocol? } accepted as known deviations
  --write-expected-failures FILE
                             write the list this run's failures call for (a baseline to commit; keeps
                             the reasons already given, drops cases that pass now)
  --ca FILE                  PEM CA certificate(s) to verify an mqtts:// or wss:// target
  --cert FILE, --key FILE    PEM client certificate and its private key (TLS client authentication)
  --insecure                 do not verify the mqtts:// or wss:// target's certificate
  --node HOST:PORT           another node of a clustered broker (repeatable; the target is the first):
                             the cluster cases connect clients to different nodes (skipped without)
  --specs DIR                scenario folder or file instead of the bundled specs/ (repeatable)
  --no-color                 no ANSI colours
  --verbose                  every case on its own line, full wire logs
  -h, --help, --version

Exit codes: 0 conformant, 1 conformance failures, 2 usage or scenario error, 3 target unreachable (or not answering MQTT, or refusing the credentials),
130/143 interrupted by SIGINT/SIGTERM (reports are written with what ran).
`;
