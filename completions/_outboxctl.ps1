
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'outboxctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'outboxctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'outboxctl' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded database migrations (outbox, uploads, consumed_messages)')
            [CompletionResult]::new('topology', 'topology', [CompletionResultType]::ParameterValue, 'Declare the RabbitMQ exchanges and queues')
            [CompletionResult]::new('lanes', 'lanes', [CompletionResultType]::ParameterValue, 'The lanes that bound how many batches are in flight across all relayers: show, set')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or check the effective configuration')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the producer HTTP API (POST /uploads and friends)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Process messages from a queue, each effect exactly once')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Migrate, declare the topology, then serve, relay and consume in one process')
            [CompletionResult]::new('outbox', 'outbox', [CompletionResultType]::ParameterValue, 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge')
            [CompletionResult]::new('lag', 'lag', [CompletionResultType]::ParameterValue, 'How far behind each stage is: pending rows and their age, queues, unconsumed')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Who is running: every relayer, consumer, API and orchestrator, the broker''s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them')
            [CompletionResult]::new('dlq', 'dlq', [CompletionResultType]::ParameterValue, 'The dead-letter queue: ls, show, replay, drop, purge')
            [CompletionResult]::new('handlers', 'handlers', [CompletionResultType]::ParameterValue, 'The handlers the consumer runs ([[handlers]] in the config file): ls')
            [CompletionResult]::new('saga', 'saga', [CompletionResultType]::ParameterValue, 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure a stage against the servers'' own limit, in a database and queues of its own')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout, or write one page per command into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;migrate' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;topology' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;topology;apply' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;topology;help' {
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;topology;help;apply' {
            break
        }
        'outboxctl;topology;help;help' {
            break
        }
        'outboxctl;lanes' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'How many lanes there are, and the pending rows in them')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;lanes;show' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;lanes;set' {
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Longest to wait for the batches in flight and the table lock')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;lanes;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'How many lanes there are, and the pending rows in them')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;lanes;help;show' {
            break
        }
        'outboxctl;lanes;help;set' {
            break
        }
        'outboxctl;lanes;help;help' {
            break
        }
        'outboxctl;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;config;show' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;config;check' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;config;help;show' {
            break
        }
        'outboxctl;config;help;check' {
            break
        }
        'outboxctl;config;help;help' {
            break
        }
        'outboxctl;relay' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Poll this often even without notifications [setting: relay.interval] [env: OUTBOX_RELAY_INTERVAL]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Rows claimed per batch [setting: relay.batch_size] [env: OUTBOX_RELAY_BATCH_SIZE]')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Batches in flight at once, each on its own connection and channel [setting: relay.workers] [env: OUTBOX_RELAY_WORKERS]')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Attempts before a row is dead [setting: relay.max_attempts] [env: OUTBOX_RELAY_MAX_ATTEMPTS]')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error')
            [CompletionResult]::new('--poll-only', '--poll-only', [CompletionResultType]::ParameterName, 'Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling) [setting: relay.poll_only] [env: OUTBOX_RELAY_POLL_ONLY]')
            [CompletionResult]::new('--no-topology', '--no-topology', [CompletionResultType]::ParameterName, 'Do not declare the RabbitMQ topology on start [setting: relay.apply_topology] [env: OUTBOX_RELAY_APPLY_TOPOLOGY]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;consume' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue to consume [default: the first of broker.queues] [setting: consumer.queue] [env: OUTBOX_CONSUMER_QUEUE]')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'Deliveries in flight ahead of acknowledgements [setting: consumer.prefetch] [env: OUTBOX_CONSUMER_PREFETCH]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Messages processed at once [setting: consumer.concurrency] [env: OUTBOX_CONSUMER_CONCURRENCY]')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Consumer name in consumed_messages [default: the queue name] [setting: consumer.name] [env: OUTBOX_CONSUMER_NAME]')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--no-topology', '--no-topology', [CompletionResultType]::ParameterName, 'Do not declare the RabbitMQ topology on start [setting: consumer.apply_topology] [env: OUTBOX_CONSUMER_APPLY_TOPOLOGY]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;up' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'Explain why a row has not gone out (or when it did, and what consumers made of it)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Publish sent rows again (same message id by default: consumers that have it skip it)')
            [CompletionResult]::new('requeue', 'requeue', [CompletionResultType]::ParameterValue, 'Put dead rows back to pending with their attempts reset')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send rows that wait out a backoff now (after the cause was fixed)')
            [CompletionResult]::new('discard', 'discard', [CompletionResultType]::ParameterValue, 'Throw pending or dead rows away; each is kept as it was in the audit trail')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete old sent rows in bounded batches')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;outbox;ls' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Only this topic')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only this partition key')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Created at or after: 1h (ago), 2026-11-27, 2026-11-27T10:00:00Z')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Created before (same forms as --since)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many rows')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'With --dead: one line per cause (the last error with its ids and numbers masked): rows, topics, first and last seen, an example')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--pending', '--pending', [CompletionResultType]::ParameterName, 'Only rows waiting to go out')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Only rows the broker confirmed')
            [CompletionResult]::new('--dead', '--dead', [CompletionResultType]::ParameterName, 'Only rows that gave up after relay.max_attempts')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Rows of every status (the default)')
            [CompletionResult]::new('--oldest-first', '--oldest-first', [CompletionResultType]::ParameterName, 'Oldest first (default: newest first)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;show' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;why' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;replay' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Every sent row of this topic created in --since..--until')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'With --topic: created at or after (1h, 2026-11-27, RFC 3339)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'With --topic: created before')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Rows changed per transaction (a progress bar shows on a terminal)')
            [CompletionResult]::new('--max-id', '--max-id', [CompletionResultType]::ParameterName, 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--same-id', '--same-id', [CompletionResultType]::ParameterName, 'Keep each row''s message id: consumers that processed it skip it (the default)')
            [CompletionResult]::new('--new-id', '--new-id', [CompletionResultType]::ParameterName, 'Publish copies with new message ids: consumers process them again')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;requeue' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'With --dead: only this topic')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Rows changed per transaction (a progress bar shows on a terminal)')
            [CompletionResult]::new('--max-id', '--max-id', [CompletionResultType]::ParameterName, 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dead', '--dead', [CompletionResultType]::ParameterName, 'Every dead row (of --topic, if given)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;retry' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'With --failing: only this topic')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Rows changed per transaction (a progress bar shows on a terminal)')
            [CompletionResult]::new('--max-id', '--max-id', [CompletionResultType]::ParameterName, 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--failing', '--failing', [CompletionResultType]::ParameterName, 'Every row waiting out a backoff (of --topic, if given)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;discard' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'With --dead or --pending: only this topic')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Rows changed per transaction (a progress bar shows on a terminal)')
            [CompletionResult]::new('--max-id', '--max-id', [CompletionResultType]::ParameterName, 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dead', '--dead', [CompletionResultType]::ParameterName, 'Every dead row (of --topic, if given)')
            [CompletionResult]::new('--pending', '--pending', [CompletionResultType]::ParameterName, 'Every pending row of --topic')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one row is affected')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;edit' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;purge' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only rows sent longer ago than this, e.g. 7d')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Rows deleted per transaction')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Delete sent rows (the only kind purge deletes; required to say so)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count what would be deleted, delete nothing')
            [CompletionResult]::new('--no-vacuum', '--no-vacuum', [CompletionResultType]::ParameterName, 'Do not VACUUM the outbox after deleting (leave it to autovacuum)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;outbox;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'Explain why a row has not gone out (or when it did, and what consumers made of it)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Publish sent rows again (same message id by default: consumers that have it skip it)')
            [CompletionResult]::new('requeue', 'requeue', [CompletionResultType]::ParameterValue, 'Put dead rows back to pending with their attempts reset')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send rows that wait out a backoff now (after the cause was fixed)')
            [CompletionResult]::new('discard', 'discard', [CompletionResultType]::ParameterValue, 'Throw pending or dead rows away; each is kept as it was in the audit trail')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete old sent rows in bounded batches')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;outbox;help;ls' {
            break
        }
        'outboxctl;outbox;help;show' {
            break
        }
        'outboxctl;outbox;help;why' {
            break
        }
        'outboxctl;outbox;help;replay' {
            break
        }
        'outboxctl;outbox;help;requeue' {
            break
        }
        'outboxctl;outbox;help;retry' {
            break
        }
        'outboxctl;outbox;help;discard' {
            break
        }
        'outboxctl;outbox;help;edit' {
            break
        }
        'outboxctl;outbox;help;purge' {
            break
        }
        'outboxctl;outbox;help;help' {
            break
        }
        'outboxctl;lag' {
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Redraw every DURATION until interrupted')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Exit 1 when a due row has waited longer than this (for cron alerts; rows scheduled for later are not late)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;status' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;doctor' {
            [CompletionResult]::new('--long-after', '--long-after', [CompletionResultType]::ParameterName, 'A transaction, idle session or prepared transaction that has held the xmin horizon longer than this is a finding')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;top' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One dead letter in full (it stays in the queue)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Move dead letters back to their work queues, attempts reset')
            [CompletionResult]::new('drop', 'drop', [CompletionResultType]::ParameterValue, 'Delete chosen dead letters for good')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete every dead letter of every queue (or --queue''s)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;dlq;ls' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the dead letters of this work queue [default: those of every queue of broker.queues]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many messages (without --by)')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'One line per cause (the handler, its SQLSTATE, HTTP status or exit status, the message with ids and numbers masked): count, queues, first and last seen, an example')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Every column in full, however wide the terminal (a pipe gets that anyway)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq;show' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the dead letters of this work queue [default: those of every queue of broker.queues]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq;replay' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Move one cause of `dlq ls --by reason`: its number (#) or key')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the dead letters of this work queue [default: those of every queue of broker.queues]')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Move every dead letter')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Move saga commands back even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq;drop' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Delete one cause of `dlq ls --by reason`: its number (#) or key')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the dead letters of this work queue [default: those of every queue of broker.queues]')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq;purge' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the dead letters of this work queue [default: those of every queue of broker.queues]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count what would be deleted, delete nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;dlq;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One dead letter in full (it stays in the queue)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Move dead letters back to their work queues, attempts reset')
            [CompletionResult]::new('drop', 'drop', [CompletionResultType]::ParameterValue, 'Delete chosen dead letters for good')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete every dead letter of every queue (or --queue''s)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;dlq;help;ls' {
            break
        }
        'outboxctl;dlq;help;show' {
            break
        }
        'outboxctl;dlq;help;replay' {
            break
        }
        'outboxctl;dlq;help;drop' {
            break
        }
        'outboxctl;dlq;help;purge' {
            break
        }
        'outboxctl;dlq;help;help' {
            break
        }
        'outboxctl;handlers' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'Every handler: name, queue, kind, topics, target (secrets masked), limits')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;handlers;ls' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Every column in full, however wide the terminal (a pipe gets that anyway)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;handlers;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'Every handler: name, queue, kind, topics, target (secrets masked), limits')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;handlers;help;ls' {
            break
        }
        'outboxctl;handlers;help;help' {
            break
        }
        'outboxctl;saga' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Orchestrate: take starts, replies and time-outs from orchestrator.queue')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List instances: id, saga, key, state, step, attempt, age, reason')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One instance''s timeline: each step, attempt, duration, output or reason')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'What an instance waits for and what to do about it; of a finished one, its story')
            [CompletionResult]::new('abort', 'abort', [CompletionResultType]::ParameterValue, 'Compensate now: undo the steps done so far, in reverse')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send the waited-for command (or compensation) once more')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'The steps and compensations of a saga, as a Mermaid flowchart')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;saga;run' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue the orchestrator takes starts, replies and time-outs from [setting: orchestrator.queue] [env: OUTBOX_ORCHESTRATOR_QUEUE]')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;ls' {
            [CompletionResult]::new('--saga', '--saga', [CompletionResultType]::ParameterName, 'Only this saga')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only this state: running, compensating, completed, compensated, failed')
            [CompletionResult]::new('--correlation', '--correlation', [CompletionResultType]::ParameterName, 'Only the instance(s) of this business key (the start payload''s correlate field)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only instances started longer ago than this, e.g. 10m')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Every column in full, however wide the terminal (a pipe gets that anyway)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;show' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Every column in full, however wide the terminal (a pipe gets that anyway)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;why' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;abort' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one instance is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one instance is affected')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;retry' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would happen, change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one instance is affected')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation when more than one instance is affected')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;plan' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;graph' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;saga;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Orchestrate: take starts, replies and time-outs from orchestrator.queue')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List instances: id, saga, key, state, step, attempt, age, reason')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One instance''s timeline: each step, attempt, duration, output or reason')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'What an instance waits for and what to do about it; of a finished one, its story')
            [CompletionResult]::new('abort', 'abort', [CompletionResultType]::ParameterValue, 'Compensate now: undo the steps done so far, in reverse')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send the waited-for command (or compensation) once more')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'The steps and compensations of a saga, as a Mermaid flowchart')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;saga;help;run' {
            break
        }
        'outboxctl;saga;help;ls' {
            break
        }
        'outboxctl;saga;help;show' {
            break
        }
        'outboxctl;saga;help;why' {
            break
        }
        'outboxctl;saga;help;abort' {
            break
        }
        'outboxctl;saga;help;retry' {
            break
        }
        'outboxctl;saga;help;plan' {
            break
        }
        'outboxctl;saga;help;graph' {
            break
        }
        'outboxctl;saga;help;help' {
            break
        }
        'outboxctl;bench' {
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Events to relay (drain, default 100000; soak, default 10000000), consume (consume, default 20000), sagas (saga, default 2000), rows and messages to change (ops, default 100000) or starts (start, default 10)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Events per second (e2e, default 1000), or sagas started per second in saga''s latency part (default: a fifth of the saga throughput it measured)')
            [CompletionResult]::new('--rates', '--rates', [CompletionResultType]::ParameterName, 'e2e: the latency curve — each rate in turn for --duration (default 20s each), and the highest rate whose p99 stays within 50 ms')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to produce (e2e, default 30s) or send requests (api, default 10s)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Concurrent clients (api, default 16) or consumer lanes (consume, default consumer.concurrency)')
            [CompletionResult]::new('--payload-bytes', '--payload-bytes', [CompletionResultType]::ParameterName, 'Size of each event''s JSON payload')
            [CompletionResult]::new('--keys', '--keys', [CompletionResultType]::ParameterName, 'Distinct partition keys in a drain backlog (0: every row its own key)')
            [CompletionResult]::new('--queue-type', '--queue-type', [CompletionResultType]::ParameterName, 'Queue type of the benchmark''s queues [default: broker.queue_type]')
            [CompletionResult]::new('--handler', '--handler', [CompletionResultType]::ParameterName, 'consume: the handler measured — the upload example, an sql statement, or a webhook to a receiver the benchmark runs')
            [CompletionResult]::new('--receiver-delay', '--receiver-delay', [CompletionResultType]::ParameterName, 'consume --handler http: how long the benchmark''s receiver takes per request (a webhook does some work; 0s measures the pipeline''s own cost)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('--no-vacuum', '--no-vacuum', [CompletionResultType]::ParameterName, 'soak: purge without the VACUUM `outbox purge` runs after deleting (autovacuum only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;verify' {
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Events to push through the pipeline')
            [CompletionResult]::new('--kills', '--kills', [CompletionResultType]::ParameterName, 'SIGKILLs, taking turns over the relayers and consumers, each restarted at once')
            [CompletionResult]::new('--cuts', '--cuts', [CompletionResultType]::ParameterName, 'Connection faults, taking turns over the processes and kinds: reset, a 2 s stall, a 1 s refusal, of the database and of the broker connection')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Events committed per second while the faults land')
            [CompletionResult]::new('--keys', '--keys', [CompletionResultType]::ParameterName, 'Distinct partition keys')
            [CompletionResult]::new('--relays', '--relays', [CompletionResultType]::ParameterName, 'Relayer processes')
            [CompletionResult]::new('--consumers', '--consumers', [CompletionResultType]::ParameterName, 'Consumer processes')
            [CompletionResult]::new('--queue-type', '--queue-type', [CompletionResultType]::ParameterName, 'Queue type of the run''s queues [default: broker.queue_type]')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the fault schedule (printed with the report), to run the same campaign again')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;man' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Write outboxctl.1 and one page per subcommand into this directory')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'outboxctl;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded database migrations (outbox, uploads, consumed_messages)')
            [CompletionResult]::new('topology', 'topology', [CompletionResultType]::ParameterValue, 'Declare the RabbitMQ exchanges and queues')
            [CompletionResult]::new('lanes', 'lanes', [CompletionResultType]::ParameterValue, 'The lanes that bound how many batches are in flight across all relayers: show, set')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or check the effective configuration')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the producer HTTP API (POST /uploads and friends)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Process messages from a queue, each effect exactly once')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Migrate, declare the topology, then serve, relay and consume in one process')
            [CompletionResult]::new('outbox', 'outbox', [CompletionResultType]::ParameterValue, 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge')
            [CompletionResult]::new('lag', 'lag', [CompletionResultType]::ParameterValue, 'How far behind each stage is: pending rows and their age, queues, unconsumed')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Who is running: every relayer, consumer, API and orchestrator, the broker''s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them')
            [CompletionResult]::new('dlq', 'dlq', [CompletionResultType]::ParameterValue, 'The dead-letter queue: ls, show, replay, drop, purge')
            [CompletionResult]::new('handlers', 'handlers', [CompletionResultType]::ParameterValue, 'The handlers the consumer runs ([[handlers]] in the config file): ls')
            [CompletionResult]::new('saga', 'saga', [CompletionResultType]::ParameterValue, 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure a stage against the servers'' own limit, in a database and queues of its own')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout, or write one page per command into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;help;migrate' {
            break
        }
        'outboxctl;help;topology' {
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)')
            break
        }
        'outboxctl;help;topology;apply' {
            break
        }
        'outboxctl;help;lanes' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'How many lanes there are, and the pending rows in them')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)')
            break
        }
        'outboxctl;help;lanes;show' {
            break
        }
        'outboxctl;help;lanes;set' {
            break
        }
        'outboxctl;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed')
            break
        }
        'outboxctl;help;config;show' {
            break
        }
        'outboxctl;help;config;check' {
            break
        }
        'outboxctl;help;relay' {
            break
        }
        'outboxctl;help;serve' {
            break
        }
        'outboxctl;help;consume' {
            break
        }
        'outboxctl;help;up' {
            break
        }
        'outboxctl;help;outbox' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'Explain why a row has not gone out (or when it did, and what consumers made of it)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Publish sent rows again (same message id by default: consumers that have it skip it)')
            [CompletionResult]::new('requeue', 'requeue', [CompletionResultType]::ParameterValue, 'Put dead rows back to pending with their attempts reset')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send rows that wait out a backoff now (after the cause was fixed)')
            [CompletionResult]::new('discard', 'discard', [CompletionResultType]::ParameterValue, 'Throw pending or dead rows away; each is kept as it was in the audit trail')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete old sent rows in bounded batches')
            break
        }
        'outboxctl;help;outbox;ls' {
            break
        }
        'outboxctl;help;outbox;show' {
            break
        }
        'outboxctl;help;outbox;why' {
            break
        }
        'outboxctl;help;outbox;replay' {
            break
        }
        'outboxctl;help;outbox;requeue' {
            break
        }
        'outboxctl;help;outbox;retry' {
            break
        }
        'outboxctl;help;outbox;discard' {
            break
        }
        'outboxctl;help;outbox;edit' {
            break
        }
        'outboxctl;help;outbox;purge' {
            break
        }
        'outboxctl;help;lag' {
            break
        }
        'outboxctl;help;status' {
            break
        }
        'outboxctl;help;doctor' {
            break
        }
        'outboxctl;help;top' {
            break
        }
        'outboxctl;help;dlq' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One dead letter in full (it stays in the queue)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Move dead letters back to their work queues, attempts reset')
            [CompletionResult]::new('drop', 'drop', [CompletionResultType]::ParameterValue, 'Delete chosen dead letters for good')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete every dead letter of every queue (or --queue''s)')
            break
        }
        'outboxctl;help;dlq;ls' {
            break
        }
        'outboxctl;help;dlq;show' {
            break
        }
        'outboxctl;help;dlq;replay' {
            break
        }
        'outboxctl;help;dlq;drop' {
            break
        }
        'outboxctl;help;dlq;purge' {
            break
        }
        'outboxctl;help;handlers' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'Every handler: name, queue, kind, topics, target (secrets masked), limits')
            break
        }
        'outboxctl;help;handlers;ls' {
            break
        }
        'outboxctl;help;saga' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Orchestrate: take starts, replies and time-outs from orchestrator.queue')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List instances: id, saga, key, state, step, attempt, age, reason')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One instance''s timeline: each step, attempt, duration, output or reason')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'What an instance waits for and what to do about it; of a finished one, its story')
            [CompletionResult]::new('abort', 'abort', [CompletionResultType]::ParameterValue, 'Compensate now: undo the steps done so far, in reverse')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Send the waited-for command (or compensation) once more')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'The steps and compensations of a saga, as a Mermaid flowchart')
            break
        }
        'outboxctl;help;saga;run' {
            break
        }
        'outboxctl;help;saga;ls' {
            break
        }
        'outboxctl;help;saga;show' {
            break
        }
        'outboxctl;help;saga;why' {
            break
        }
        'outboxctl;help;saga;abort' {
            break
        }
        'outboxctl;help;saga;retry' {
            break
        }
        'outboxctl;help;saga;plan' {
            break
        }
        'outboxctl;help;saga;graph' {
            break
        }
        'outboxctl;help;bench' {
            break
        }
        'outboxctl;help;verify' {
            break
        }
        'outboxctl;help;completions' {
            break
        }
        'outboxctl;help;man' {
            break
        }
        'outboxctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
