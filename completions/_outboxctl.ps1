
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
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded database migrations (outbox, uploads, consumed_messages)')
            [CompletionResult]::new('topology', 'topology', [CompletionResultType]::ParameterValue, 'Declare the RabbitMQ exchanges and queues')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or check the effective configuration')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the producer HTTP API (POST /uploads and friends)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Process messages from a queue, each effect exactly once')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Migrate, declare the topology, then serve, relay and consume in one process')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout, or write one page per command into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;migrate' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;topology' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;topology;apply' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
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
        'outboxctl;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration and reach PostgreSQL and RabbitMQ')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'outboxctl;config;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;config;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration and reach PostgreSQL and RabbitMQ')
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
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Poll this often even without notifications (setting relay.interval)')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Rows claimed per batch (setting relay.batch_size)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Batches in flight at once, each on its own connection and channel (setting relay.workers)')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Attempts before a row is dead (setting relay.max_attempts)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error')
            [CompletionResult]::new('--poll-only', '--poll-only', [CompletionResultType]::ParameterName, 'Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling)')
            [CompletionResult]::new('--no-topology', '--no-topology', [CompletionResultType]::ParameterName, 'Do not declare the RabbitMQ topology on start (setting relay.apply_topology = false)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (setting api.listen)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;consume' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue to consume [default: the first of broker.queues] (setting consumer.queue)')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'Deliveries in flight ahead of acknowledgements (setting consumer.prefetch)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Messages processed at once (setting consumer.concurrency)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Consumer name in consumed_messages [default: the queue name] (setting consumer.name)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('--no-topology', '--no-topology', [CompletionResultType]::ParameterName, 'Do not declare the RabbitMQ topology on start (setting consumer.apply_topology = false)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;up' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (setting api.listen)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;man' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Write outboxctl.1 and one page per subcommand into this directory')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./outbox.toml when present]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL URL (setting database.url)')
            [CompletionResult]::new('--broker-url', '--broker-url', [CompletionResultType]::ParameterName, 'RabbitMQ URL (setting broker.url)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr (setting log.format)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'outboxctl;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded database migrations (outbox, uploads, consumed_messages)')
            [CompletionResult]::new('topology', 'topology', [CompletionResultType]::ParameterValue, 'Declare the RabbitMQ exchanges and queues')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or check the effective configuration')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the producer HTTP API (POST /uploads and friends)')
            [CompletionResult]::new('consume', 'consume', [CompletionResultType]::ParameterValue, 'Process messages from a queue, each effect exactly once')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Migrate, declare the topology, then serve, relay and consume in one process')
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
        'outboxctl;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the effective configuration as TOML (passwords masked), with each value''s source')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration and reach PostgreSQL and RabbitMQ')
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
