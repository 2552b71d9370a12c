import { DEFAULT_CONFIG_FILE } from '../config/load.ts'

export const COMMANDS = [
  'start',
  'validate',
  'flip',
  'kill-switch',
  'status',
  'history',
  'noise',
  'triage',
  'ids',
  'report',
  'reporter',
  'recompare',
  'reconcile',
  'help',
  'version',
] as const
export type Command = (typeof COMMANDS)[number]

export function isCommand(name: string | undefined): name is Command {
  return (COMMANDS as readonly (string | undefined)[]).includes(name)
}

const ADMIN_CLIENT = `Talks to a running gateway's admin API: --admin-url URL or FICUS_ADMIN_URL (default
http://127.0.0.1:9090); the token from FICUS_ADMIN_TOKEN; --json prints the API's answer as JSON.`

/** Each command's own usage: what `ficus <command> --help` prints, and what follows its usage errors. */
export const COMMAND_USAGE: Readonly<Record<Command, string>> = {
  start: `Usage: ficus start [--config FILE] [--workers N|auto]

Runs the gateway: client traffic on PORT (8080), the admin API, dashboard and metrics on
ADMIN_PORT (9090), until SIGTERM or SIGINT (graceful; a second signal exits at once).

Options:
  --config FILE       the routes config (default $FICUS_CONFIG, else ${DEFAULT_CONFIG_FILE})
  --workers N|auto    N gateway processes behind the one port (auto: the available cores; default
                      gateway.workers of the config, else 1). Worker 1 serves the admin API, whose
                      /metrics and /readyz answer for every worker; a worker that dies is replaced

Environment: PORT, HOST (0.0.0.0), ADMIN_PORT, ADMIN_HOST, LOG_LEVEL (info), FICUS_CONFIG,
FICUS_DATA_DIR (./data), FICUS_INSTANCE_ID, FICUS_ADMIN_TOKEN, REDIS_URL, FICUS_REDIS_PREFIX,
KAFKA_BROKERS and the others in README.md.
`,
  validate: `Usage: ficus validate [FILE] [--json]

Checks a routes config (default $FICUS_CONFIG, else ${DEFAULT_CONFIG_FILE}) and prints its route table:
each route and where each side sends it. Exit 0 when valid, 1 when not (every problem is listed
with the path of the field at fault).

Options:
  --json   print { valid, file, version, upstreams, slices, fallthrough }, or
           { valid: false, file, error: { code, message }, problems: [{ path, message }] }
`,
  flip: `Usage: ficus flip <slice> <legacy|modern|N%> --reason "…" [--expect-version N] [--force]

Changes who answers a slice: legacy, modern, or a sticky percentage of modern (0.01 % steps).

Options:
  --reason "…"         why (required; recorded in the audit trail)
  --expect-version N   refuse (FICUS_ERR_AUTHORITY_CONFLICT) if the slice changed since version N
  --force              past a "not ready" verdict of the readiness guard; recorded as forced
  --json               print the API's answer

${ADMIN_CLIENT}
The actor recorded in the audit trail is FICUS_ACTOR (default user@host).
`,
  'kill-switch': `Usage: ficus kill-switch [slice...] --reason "…"

Returns every slice (or the ones named) to legacy in one atomic, audited change.

Options:
  --reason "…"   why (required)
  --json         print the API's answer

${ADMIN_CLIENT}
The actor recorded in the audit trail is FICUS_ACTOR (default user@host).
`,
  status: `Usage: ficus status [--json]

The live authority of every slice: who answers, the flag version and the last change.

${ADMIN_CLIENT}
`,
  history: `Usage: ficus history [slice] [--limit N] [--json]

The audit trail of authority changes, newest first (every slice, or the one named).

Options:
  --limit N   how many entries (1–1000, default 50)

${ADMIN_CLIENT}
`,
  triage: `Usage: ficus triage list [--slice S] [--family F] [--state S] [--limit N] [--json]
       ficus triage show <id> [--json]
       ficus triage assign <id> <assignee> --reason "…"
       ficus triage accept <id> --approver NAME --expires YYYY-MM-DD --reason "…"
       ficus triage expect-fix <id> --reason "…"
       ficus triage mark-defect <id> modern|legacy-data --ticket REF --reason "…"
       ficus triage wont-fix <id> --reason "…"
       ficus triage reopen <id> --reason "…"

The discrepancy register of the gateway you ask: every difference grouped by signature (slice,
route, family, paths), with its count, entities, examples and triage state — open, investigating,
accepted (until its expiry), fix-expected (a regression if it recurs under new rules),
modern-defect, legacy-data-defect, wont-fix. Every action is audited with its reason and actor
(FICUS_ACTOR, else user@host) and shown by \`show\`.

${ADMIN_CLIENT}
`,
  ids: `Usage: ficus ids import <map> <file.csv|file.jsonl|-> [--format csv|jsonl] [--json]
       ficus ids lookup <map> <id> [--to modern|legacy] [--json]
       ficus ids count [<map>] [--json]

The identity maps of the routes config (--config FILE or FICUS_CONFIG), where they are kept: the
map's file, or Redis (REDIS_URL, FICUS_REDIS_PREFIX). A pair links one entity's legacy id and new
id; a file holds CSV with the header legacy,modern, or JSON lines {"legacy":"…","modern":"…"}.
\`import\` adds pairs one-to-one: a pair whose id is already mapped to another is refused, listed,
and the exit status is 1 (nothing is overwritten); a bad line imports nothing. A running gateway
reads a file map at start and a Redis map live. \`lookup\` prints the other side's id (--to modern:
the id given is legacy's; exit status 1 when there is none). \`count\` prints the pairs per map.
`,
  noise: `Usage: ficus noise <slice> [--json]
       ficus noise <slice> confirm|reject|clear --route "GET /…" --path /body/… --reason "…"

Lists the slice's learned noise on the gateway you ask: each path on which the authoritative side's
two answers to one request differed, with its evidence (self-differences and double-asks in the
rolling window, the ratio), its state (watching, learned, expired, confirmed, rejected) and the
operator's decision. An operator confirms a path (noise until cleared), rejects it (never noise,
however often it differs) or clears the decision; every decision is audited and reaches every
instance.

Options:
  --route "M /path"   the route, as the listing shows it
  --path /body/…      the path, as the listing shows it
  --reason "…"        why (required for a decision)
  --json              print the API's answer

${ADMIN_CLIENT}
The actor recorded is FICUS_ACTOR (default user@host).
`,
  report: `Usage: ficus report [options]

The shadow-run report per slice, with readiness verdicts, read in bounded memory from Kafka
(when KAFKA_BROKERS is set) or from the JSON lines in the data directory.

Options:
  --source kafka|jsonl      where the comparisons are (default: kafka with KAFKA_BROKERS, else jsonl)
  --data-dir DIR            the JSON lines' data directory (default $FICUS_DATA_DIR, else ./data)
  --topic T                 the comparisons topic (default $FICUS_TOPIC_COMPARISONS)
  --since 24h | --from ISO [--to ISO]   the time window (default: everything)
  --slice ID                one slice only
  --rules HASH              the figures of another rules version (a prefix will do); readiness is
                            always judged on the slice's current rules
  --format text|md|json|html   (default text)
  --out FILE                write to FILE instead of standard output
  --require-ready SLICE     exit 3 unless SLICE is ready (for pipelines)
  --config FILE             the routes config whose readiness thresholds apply
  --admin-url URL           HTML: ask this running gateway (default $FICUS_ADMIN_URL; token from
                            FICUS_ADMIN_TOKEN) for each slice's authority and recent flips
  --run RUN_ID              only the comparisons of one reconciliation run (origin reconcile)
`,
  reporter: `Usage: ficus reporter [--config FILE]

Consumes comparisons from Kafka (KAFKA_BROKERS) in a consumer group (FICUS_REPORTER_GROUP) into
rolling per-slice aggregates, kept in Redis with REDIS_URL (the gateway's readiness evidence) or
in memory, and serves reports on REPORTER_PORT (9091), with /healthz and /readyz (503 when its
consumer crashed, stopped, left its group or stalled with records waiting; it replaces the consumer
up to FICUS_REPORTER_MAX_RESTARTS (5) times in a row, then stays unhealthy) and /metrics. Its Kafka
client id is ficus-reporter-<FICUS_INSTANCE_ID>.

Options:
  --config FILE   the routes config whose readiness thresholds apply
`,
  recompare: `Usage: ficus recompare <slice> --since <window> [--until <time>] [--config FILE] [--dry-run] [--json] [--examples N]

Judges the slice's captured pairs again (both answers, kept encrypted for a bounded time when the
slice captures) exactly as the parallel run judges live traffic, under new rules:

  without --config   the current routes config (FICUS_CONFIG, else ${DEFAULT_CONFIG_FILE}); the replays are
                     published as comparisons with origin "replay", linked to the comparisons they judge
                     again (causationId), and count as evidence of the current rules. Pairs whose original
                     was made under these same rules are not published again. --dry-run publishes nothing.
  --config FILE      a candidate config not yet deployed, validated like any config: always a dry run
                     (a candidate's evidence must not count as a deployed one's; --no-dry-run is refused).

Prints the families before → after, the moves between family/category with example request ids,
the discrepancy signatures that disappear, appear or change count, and the totals (pairs read,
unreadable, skipped and why: route-gone when the config no longer has the pair's route).

Options:
  --since WINDOW   30m, 24h, 7d, or an ISO 8601 time with its zone (2026-11-23T10:00:00Z); required
  --until TIME     the end of the window (same forms; default now)
  --config FILE    judge under this candidate config (a dry run)
  --dry-run        print what would change; publish nothing
  --json           print the same as one JSON object
  --examples N     example request ids per move and signature (default 3, at most 50)

Environment: FICUS_CONFIG, FICUS_DATA_DIR, FICUS_HASH_SALT, KAFKA_BROKERS (where captures are read
and replays published, as the gateway does), REDIS_URL (identity maps kept there).
Exit status: 0; 1 when captures exist but none could be read, or replays could not all be written; 2 on a usage error.
`,
  reconcile: `Usage: ficus reconcile <slice> --keys FILE|- [options]
       ficus reconcile <slice> --resume RUN_ID --keys FILE|- [options]

Asks both sides of a slice about every key of a list, at a pace that protects legacy: each key
fills the path parameter of the slice's read route (the client's vocabulary: identity maps apply),
both answers are judged as live traffic is and published as comparisons with origin "reconcile"
and the run id. Progress goes to standard error, the run's summary to standard output. SIGINT or
SIGTERM stops the run (keys in flight finish, the checkpoint is written; exit 130): resume it with
--resume. Exit 0 when every threshold is met, 1 when one is broken, 2 for a usage error.

Options:
  --keys FILE|-             one key per line (blank lines and # comments skipped); - reads standard input
  --key-field NAME          the keys are a JSON-lines export: the top-level field that holds the key
  --run-id ID               name the run (default rec-<time>-<random>; printed at the start)
  --resume RUN_ID           go on with a stopped run: the same slice and keys, only keys not done
  --route "GET /template"   the read route to ask (default slices.<id>.reconcile.route, else the
                            slice's only GET route with one path parameter)
  --rate N                  keys a second, at most (default reconcile.ratePerSecond, else 10)
  --concurrency N           keys in flight, at most (default reconcile.concurrency, else 2)
  --min-agreement PCT       threshold: agreement over compared keys (default 99)
  --max-error-percent PCT   threshold: keys whose sides failed (default 1)
  --json                    print the summary as one JSON object
  --config FILE             the routes config (default $FICUS_CONFIG, else ${DEFAULT_CONFIG_FILE})

The checkpoint is kept in $FICUS_DATA_DIR/reconcile/<run id>.json; finished runs are appended to
$FICUS_DATA_DIR/reconcile/runs.jsonl. \`ficus report --run RUN_ID\` reports one run alone.
`,
  help: `Usage: ficus help [command]

Shows the list of commands, or one command's usage.
`,
  version: `Usage: ficus version

Prints the version of Ficus.
`,
}

/** `ficus --help`: every command on a line. */
export const USAGE = `Usage: ficus <command> [options]

Commands:
  start [--config FILE] [--workers N|auto]       run the gateway (FILE defaults to $FICUS_CONFIG or ${DEFAULT_CONFIG_FILE})
  validate [FILE] [--json]                       check a routes config and print its route table
  flip <slice> <legacy|modern|N%> --reason "…"   change who answers a slice [--expect-version N]
                                                 [--force: past a "not ready" verdict, recorded as forced]
  kill-switch [slice...] --reason "…"            return every slice (or those named) to legacy
  status                                         the live authority of every slice
  history [slice] [--limit N]                    the audit trail of authority changes, newest first
  noise <slice> [confirm|reject|clear …]         learned noise with its evidence; an operator's decision
  triage list|show|assign|accept|…               the discrepancy register and its triage
  ids import|lookup|count                        identity maps between legacy and new ids
  report [options]                               shadow-run report per slice, with readiness verdicts
  reporter [--config FILE]                       consume comparisons from Kafka into rolling per-slice
                                                 aggregates (Redis, else memory); serves reports on REPORTER_PORT
  recompare <slice> --since 24h [--config FILE]  judge captured pairs again under the current rules (published as
                                                 replays) or a candidate config (--config: a dry run of what changes)
  reconcile <slice> --keys FILE|-                ask both sides about a list of keys at a pace that protects
                                                 legacy; resumable (--resume RUN_ID); exit 1 on broken thresholds
  help [command]                                 show this text, or one command's usage
  version                                        print the version

\`ficus <command> --help\` shows a command's options. See README.md for the full reference.
`
