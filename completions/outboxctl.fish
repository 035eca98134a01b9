# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_outboxctl_global_optspecs
    string join \n config= database-url= broker-url= log-level= log-format= h/help V/version
end

function __fish_outboxctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_outboxctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_outboxctl_using_subcommand
    set -l cmd (__fish_outboxctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c outboxctl -n "__fish_outboxctl_needs_command" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_needs_command" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_needs_command" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_needs_command" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_needs_command" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -s V -l version -d 'Print version'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "migrate" -d 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "topology" -d 'Declare the RabbitMQ exchanges and queues'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "lanes" -d 'The lanes that bound how many batches are in flight across all relayers: show, set'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "config" -d 'Show or check the effective configuration'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "relay" -d 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "serve" -d 'Serve the producer HTTP API (POST /uploads and friends)'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "consume" -d 'Process messages from a queue, each effect exactly once'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "up" -d 'Migrate, declare the topology, then serve, relay and consume in one process'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "outbox" -d 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "lag" -d 'How far behind each stage is: pending rows and their age, queues, unconsumed'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "status" -d 'Who is running: every relayer, consumer, API and orchestrator, the broker\'s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "doctor" -d 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "top" -d 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "dlq" -d 'The dead-letter queue: ls, show, replay, drop, purge'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "handlers" -d 'The handlers the consumer runs ([[handlers]] in the config file): ls'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "saga" -d 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "bench" -d 'Measure a stage against the servers\' own limit, in a database and queues of its own'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "verify" -d 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "man" -d 'Print the man page (roff) to stdout, or write one page per command into a directory'
complete -c outboxctl -n "__fish_outboxctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -f -a "apply" -d 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and not __fish_seen_subcommand_from apply help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand topology; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -f -a "show" -d 'How many lanes there are, and the pending rows in them'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -f -a "set" -d 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and not __fish_seen_subcommand_from show set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l wait -d 'Longest to wait for the batches in flight and the table lock' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -s y -l yes -d 'Do not ask for confirmation'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from help" -f -a "show" -d 'How many lanes there are, and the pending rows in them'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from help" -f -a "set" -d 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lanes; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "show" -d 'Print the effective configuration as TOML (passwords masked), with each value\'s source'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "check" -d 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and not __fish_seen_subcommand_from show check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective configuration as TOML (passwords masked), with each value\'s source'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l interval -d 'Poll this often even without notifications [setting: relay.interval] [env: OUTBOX_RELAY_INTERVAL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l batch-size -d 'Rows claimed per batch [setting: relay.batch_size] [env: OUTBOX_RELAY_BATCH_SIZE]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l workers -d 'Batches in flight at once, each on its own connection and channel [setting: relay.workers] [env: OUTBOX_RELAY_WORKERS]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l max-attempts -d 'Attempts before a row is dead [setting: relay.max_attempts] [env: OUTBOX_RELAY_MAX_ATTEMPTS]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l once -d 'Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l poll-only -d 'Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling) [setting: relay.poll_only] [env: OUTBOX_RELAY_POLL_ONLY]'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -l no-topology -d 'Do not declare the RabbitMQ topology on start [setting: relay.apply_topology] [env: OUTBOX_RELAY_APPLY_TOPOLOGY]'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand relay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l listen -d 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l queue -d 'Queue to consume [default: the first of broker.queues] [setting: consumer.queue] [env: OUTBOX_CONSUMER_QUEUE]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l prefetch -d 'Deliveries in flight ahead of acknowledgements [setting: consumer.prefetch] [env: OUTBOX_CONSUMER_PREFETCH]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l concurrency -d 'Messages processed at once [setting: consumer.concurrency] [env: OUTBOX_CONSUMER_CONCURRENCY]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l name -d 'Consumer name in consumed_messages [default: the queue name] [setting: consumer.name] [env: OUTBOX_CONSUMER_NAME]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -l no-topology -d 'Do not declare the RabbitMQ topology on start [setting: consumer.apply_topology] [env: OUTBOX_CONSUMER_APPLY_TOPOLOGY]'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l listen -d 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "ls" -d 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "show" -d 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "why" -d 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "replay" -d 'Publish sent rows again (same message id by default: consumers that have it skip it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "requeue" -d 'Put dead rows back to pending with their attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "retry" -d 'Send rows that wait out a backoff now (after the cause was fixed)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "discard" -d 'Throw pending or dead rows away; each is kept as it was in the audit trail'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "edit" -d 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "purge" -d 'Delete old sent rows in bounded batches'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and not __fish_seen_subcommand_from ls show why replay requeue retry discard edit purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l topic -d 'Only this topic' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l key -d 'Only this partition key' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l since -d 'Created at or after: 1h (ago), 2026-11-27, 2026-11-27T10:00:00Z' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l until -d 'Created before (same forms as --since)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l limit -d 'At most this many rows' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l by -d 'With --dead: one line per cause (the last error with its ids and numbers masked): rows, topics, first and last seen, an example' -r -f -a "reason\t'The cause: the handler, the code (SQLSTATE, HTTP status, exit status) and the message, its ids and numbers masked'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l pending -d 'Only rows waiting to go out'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l sent -d 'Only rows the broker confirmed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l dead -d 'Only rows that gave up after relay.max_attempts'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l all -d 'Rows of every status (the default)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -l oldest-first -d 'Oldest first (default: newest first)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from why" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l topic -d 'Every sent row of this topic created in --since..--until' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l since -d 'With --topic: created at or after (1h, 2026-11-27, RFC 3339)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l until -d 'With --topic: created before' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l batch -d 'Rows changed per transaction (a progress bar shows on a terminal)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l max-id -d 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l same-id -d 'Keep each row\'s message id: consumers that processed it skip it (the default)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l new-id -d 'Publish copies with new message ids: consumers process them again'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -s y -l yes -d 'Do not ask for confirmation when more than one row is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -l force -d 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl\'s handlers fence them)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l topic -d 'With --dead: only this topic' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l batch -d 'Rows changed per transaction (a progress bar shows on a terminal)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l max-id -d 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l dead -d 'Every dead row (of --topic, if given)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -s y -l yes -d 'Do not ask for confirmation when more than one row is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -l force -d 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl\'s handlers fence them)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from requeue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l topic -d 'With --failing: only this topic' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l batch -d 'Rows changed per transaction (a progress bar shows on a terminal)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l max-id -d 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l failing -d 'Every row waiting out a backoff (of --topic, if given)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -s y -l yes -d 'Do not ask for confirmation when more than one row is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l force -d 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl\'s handlers fence them)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l topic -d 'With --dead or --pending: only this topic' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l batch -d 'Rows changed per transaction (a progress bar shows on a terminal)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l max-id -d 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l dead -d 'Every dead row (of --topic, if given)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l pending -d 'Every pending row of --topic'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -s y -l yes -d 'Do not ask for confirmation when more than one row is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from discard" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l older-than -d 'Only rows sent longer ago than this, e.g. 7d' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l batch -d 'Rows deleted per transaction' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l sent -d 'Delete sent rows (the only kind purge deletes; required to say so)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l dry-run -d 'Count what would be deleted, delete nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -l no-vacuum -d 'Do not VACUUM the outbox after deleting (leave it to autovacuum)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "show" -d 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "why" -d 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "replay" -d 'Publish sent rows again (same message id by default: consumers that have it skip it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "requeue" -d 'Put dead rows back to pending with their attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Send rows that wait out a backoff now (after the cause was fixed)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "discard" -d 'Throw pending or dead rows away; each is kept as it was in the audit trail'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Delete old sent rows in bounded batches'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l watch -d 'Redraw every DURATION until interrupted' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l max-age -d 'Exit 1 when a due row has waited longer than this (for cron alerts; rows scheduled for later are not late)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand lag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l long-after -d 'A transaction, idle session or prepared transaction that has held the xmin horizon longer than this is a finding' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "ls" -d 'List the dead letters of every queue (or --queue\'s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "show" -d 'One dead letter in full (it stays in the queue)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "replay" -d 'Move dead letters back to their work queues, attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "drop" -d 'Delete chosen dead letters for good'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "purge" -d 'Delete every dead letter of every queue (or --queue\'s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show replay drop purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l queue -d 'Only the dead letters of this work queue [default: those of every queue of broker.queues]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l limit -d 'At most this many messages (without --by)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l by -d 'One line per cause (the handler, its SQLSTATE, HTTP status or exit status, the message with ids and numbers masked): count, queues, first and last seen, an example' -r -f -a "reason\t'The cause: the handler, the code (SQLSTATE, HTTP status, exit status) and the message, its ids and numbers masked'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l wide -d 'Every column in full, however wide the terminal (a pipe gets that anyway)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l queue -d 'Only the dead letters of this work queue [default: those of every queue of broker.queues]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l reason -d 'Move one cause of `dlq ls --by reason`: its number (#) or key' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l queue -d 'Only the dead letters of this work queue [default: those of every queue of broker.queues]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l all -d 'Move every dead letter'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l force -d 'Move saga commands back even when their saga has moved on (an outside participant would act on them; outboxctl\'s handlers fence them)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -s y -l yes -d 'Do not ask for confirmation'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l reason -d 'Delete one cause of `dlq ls --by reason`: its number (#) or key' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l queue -d 'Only the dead letters of this work queue [default: those of every queue of broker.queues]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l rate -d 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -s y -l yes -d 'Do not ask for confirmation'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from drop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l queue -d 'Only the dead letters of this work queue [default: those of every queue of broker.queues]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l dry-run -d 'Count what would be deleted, delete nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s y -l yes -d 'Do not ask for confirmation'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the dead letters of every queue (or --queue\'s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "show" -d 'One dead letter in full (it stays in the queue)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "replay" -d 'Move dead letters back to their work queues, attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "drop" -d 'Delete chosen dead letters for good'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Delete every dead letter of every queue (or --queue\'s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -f -a "ls" -d 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and not __fish_seen_subcommand_from ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -l wide -d 'Every column in full, however wide the terminal (a pipe gets that anyway)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from help" -f -a "ls" -d 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand handlers; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "run" -d 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "ls" -d 'List instances: id, saga, key, state, step, attempt, age, reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "show" -d 'One instance\'s timeline: each step, attempt, duration, output or reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "why" -d 'What an instance waits for and what to do about it; of a finished one, its story'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "abort" -d 'Compensate now: undo the steps done so far, in reverse'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "retry" -d 'Send the waited-for command (or compensation) once more'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "plan" -d 'Check the configuration\'s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "graph" -d 'The steps and compensations of a saga, as a Mermaid flowchart'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and not __fish_seen_subcommand_from run ls show why abort retry plan graph help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l queue -d 'Queue the orchestrator takes starts, replies and time-outs from [setting: orchestrator.queue] [env: OUTBOX_ORCHESTRATOR_QUEUE]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l metrics-listen -d 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l saga -d 'Only this saga' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l state -d 'Only this state: running, compensating, completed, compensated, failed' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l correlation -d 'Only the instance(s) of this business key (the start payload\'s correlate field)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l older-than -d 'Only instances started longer ago than this, e.g. 10m' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l limit -d 'At most this many' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -l wide -d 'Every column in full, however wide the terminal (a pipe gets that anyway)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -l wide -d 'Every column in full, however wide the terminal (a pipe gets that anyway)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from why" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -s y -l yes -d 'Do not ask for confirmation when more than one instance is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from abort" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -l dry-run -d 'Say what would happen, change nothing'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -s y -l yes -d 'Do not ask for confirmation when more than one instance is affected'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "run" -d 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List instances: id, saga, key, state, step, attempt, age, reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "show" -d 'One instance\'s timeline: each step, attempt, duration, output or reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "why" -d 'What an instance waits for and what to do about it; of a finished one, its story'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "abort" -d 'Compensate now: undo the steps done so far, in reverse'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Send the waited-for command (or compensation) once more'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Check the configuration\'s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "graph" -d 'The steps and compensations of a saga, as a Mermaid flowchart'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand saga; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l events -d 'Events to relay (drain, default 100000; soak, default 10000000), consume (consume, default 20000), sagas (saga, default 2000), rows and messages to change (ops, default 100000) or starts (start, default 10)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l rate -d 'Events per second (e2e, default 1000), or sagas started per second in saga\'s latency part (default: a fifth of the saga throughput it measured)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l rates -d 'e2e: the latency curve — each rate in turn for --duration (default 20s each), and the highest rate whose p99 stays within 50 ms' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l duration -d 'How long to produce (e2e, default 30s) or send requests (api, default 10s)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l concurrency -d 'Concurrent clients (api, default 16) or consumer lanes (consume, default consumer.concurrency)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l payload-bytes -d 'Size of each event\'s JSON payload' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l keys -d 'Distinct partition keys in a drain backlog (0: every row its own key)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l queue-type -d 'Queue type of the benchmark\'s queues [default: broker.queue_type]' -r -f -a "quorum\t''
classic\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l handler -d 'consume: the handler measured — the upload example, an sql statement, or a webhook to a receiver the benchmark runs' -r -f -a "builtin\t'The upload inspection, next to the database\'s single-row transactions'
sql\t'An INSERT per message, next to the database\'s single-row transactions'
http\t'A POST per message, next to raw POSTs to the same receiver'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l receiver-delay -d 'consume --handler http: how long the benchmark\'s receiver takes per request (a webhook does some work; 0s measures the pipeline\'s own cost)' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -l no-vacuum -d 'soak: purge without the VACUUM `outbox purge` runs after deleting (autovacuum only)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l events -d 'Events to push through the pipeline' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l kills -d 'SIGKILLs, taking turns over the relayers and consumers, each restarted at once' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l cuts -d 'Connection faults, taking turns over the processes and kinds: reset, a 2 s stall, a 1 s refusal, of the database and of the broker connection' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l rate -d 'Events committed per second while the faults land' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l keys -d 'Distinct partition keys' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l relays -d 'Relayer processes' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l consumers -d 'Consumer processes' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l queue-type -d 'Queue type of the run\'s queues [default: broker.queue_type]' -r -f -a "quorum\t''
classic\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l seed -d 'Seed of the fault schedule (printed with the report), to run the same campaign again' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON object per line, for scripts'"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l out-dir -d 'Write outboxctl.1 and one page per subcommand into this directory' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l config -d 'Configuration file [default: ./outbox.toml when present]' -r -F
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l database-url -d 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l broker-url -d 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l log-level -d 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]' -r
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -l log-format -d 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]' -r -f -a "text\t''
json\t''"
complete -c outboxctl -n "__fish_outboxctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "migrate" -d 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "topology" -d 'Declare the RabbitMQ exchanges and queues'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "lanes" -d 'The lanes that bound how many batches are in flight across all relayers: show, set'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "config" -d 'Show or check the effective configuration'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "relay" -d 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "serve" -d 'Serve the producer HTTP API (POST /uploads and friends)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "consume" -d 'Process messages from a queue, each effect exactly once'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "up" -d 'Migrate, declare the topology, then serve, relay and consume in one process'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "outbox" -d 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "lag" -d 'How far behind each stage is: pending rows and their age, queues, unconsumed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "status" -d 'Who is running: every relayer, consumer, API and orchestrator, the broker\'s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "doctor" -d 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "top" -d 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "dlq" -d 'The dead-letter queue: ls, show, replay, drop, purge'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "handlers" -d 'The handlers the consumer runs ([[handlers]] in the config file): ls'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "saga" -d 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "bench" -d 'Measure a stage against the servers\' own limit, in a database and queues of its own'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "verify" -d 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "man" -d 'Print the man page (roff) to stdout, or write one page per command into a directory'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and not __fish_seen_subcommand_from migrate topology lanes config relay serve consume up outbox lag status doctor top dlq handlers saga bench verify completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from topology" -f -a "apply" -d 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from lanes" -f -a "show" -d 'How many lanes there are, and the pending rows in them'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from lanes" -f -a "set" -d 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective configuration as TOML (passwords masked), with each value\'s source'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "ls" -d 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "show" -d 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "why" -d 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "replay" -d 'Publish sent rows again (same message id by default: consumers that have it skip it)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "requeue" -d 'Put dead rows back to pending with their attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "retry" -d 'Send rows that wait out a backoff now (after the cause was fixed)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "discard" -d 'Throw pending or dead rows away; each is kept as it was in the audit trail'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "edit" -d 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "purge" -d 'Delete old sent rows in bounded batches'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "ls" -d 'List the dead letters of every queue (or --queue\'s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "show" -d 'One dead letter in full (it stays in the queue)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "replay" -d 'Move dead letters back to their work queues, attempts reset'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "drop" -d 'Delete chosen dead letters for good'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "purge" -d 'Delete every dead letter of every queue (or --queue\'s)'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from handlers" -f -a "ls" -d 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "run" -d 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "ls" -d 'List instances: id, saga, key, state, step, attempt, age, reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "show" -d 'One instance\'s timeline: each step, attempt, duration, output or reason'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "why" -d 'What an instance waits for and what to do about it; of a finished one, its story'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "abort" -d 'Compensate now: undo the steps done so far, in reverse'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "retry" -d 'Send the waited-for command (or compensation) once more'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "plan" -d 'Check the configuration\'s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
complete -c outboxctl -n "__fish_outboxctl_using_subcommand help; and __fish_seen_subcommand_from saga" -f -a "graph" -d 'The steps and compensations of a saga, as a Mermaid flowchart'
