
use builtin;
use str;

set edit:completion:arg-completer[outboxctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'outboxctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'outboxctl'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
            cand topology 'Declare the RabbitMQ exchanges and queues'
            cand config 'Show or check the effective configuration'
            cand relay 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
            cand serve 'Serve the producer HTTP API (POST /uploads and friends)'
            cand consume 'Process messages from a queue, each effect exactly once'
            cand up 'Migrate, declare the topology, then serve, relay and consume in one process'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout, or write one page per command into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;migrate'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;topology'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand apply 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;topology;apply'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;topology;help'= {
            cand apply 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;topology;help;apply'= {
        }
        &'outboxctl;topology;help;help'= {
        }
        &'outboxctl;config'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Validate the configuration and reach PostgreSQL and RabbitMQ'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;config;show'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;config;check'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;config;help'= {
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Validate the configuration and reach PostgreSQL and RabbitMQ'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;config;help;show'= {
        }
        &'outboxctl;config;help;check'= {
        }
        &'outboxctl;config;help;help'= {
        }
        &'outboxctl;relay'= {
            cand --interval 'Poll this often even without notifications (setting relay.interval)'
            cand --batch-size 'Rows claimed per batch (setting relay.batch_size)'
            cand --workers 'Batches in flight at once, each on its own connection and channel (setting relay.workers)'
            cand --max-attempts 'Attempts before a row is dead (setting relay.max_attempts)'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand --once 'Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error'
            cand --poll-only 'Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling)'
            cand --no-topology 'Do not declare the RabbitMQ topology on start (setting relay.apply_topology = false)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;serve'= {
            cand --listen 'Address to listen on (setting api.listen)'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;consume'= {
            cand --queue 'Queue to consume [default: the first of broker.queues] (setting consumer.queue)'
            cand --prefetch 'Deliveries in flight ahead of acknowledgements (setting consumer.prefetch)'
            cand --concurrency 'Messages processed at once (setting consumer.concurrency)'
            cand --name 'Consumer name in consumed_messages [default: the queue name] (setting consumer.name)'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand --no-topology 'Do not declare the RabbitMQ topology on start (setting consumer.apply_topology = false)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;up'= {
            cand --listen 'Address to listen on (setting api.listen)'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;completions'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;man'= {
            cand --out-dir 'Write outboxctl.1 and one page per subcommand into this directory'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL (setting database.url)'
            cand --broker-url 'RabbitMQ URL (setting broker.url)'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug (setting log.level)'
            cand --log-format 'Log line format on stderr (setting log.format)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'outboxctl;help'= {
            cand migrate 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
            cand topology 'Declare the RabbitMQ exchanges and queues'
            cand config 'Show or check the effective configuration'
            cand relay 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
            cand serve 'Serve the producer HTTP API (POST /uploads and friends)'
            cand consume 'Process messages from a queue, each effect exactly once'
            cand up 'Migrate, declare the topology, then serve, relay and consume in one process'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout, or write one page per command into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;help;migrate'= {
        }
        &'outboxctl;help;topology'= {
            cand apply 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
        }
        &'outboxctl;help;topology;apply'= {
        }
        &'outboxctl;help;config'= {
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Validate the configuration and reach PostgreSQL and RabbitMQ'
        }
        &'outboxctl;help;config;show'= {
        }
        &'outboxctl;help;config;check'= {
        }
        &'outboxctl;help;relay'= {
        }
        &'outboxctl;help;serve'= {
        }
        &'outboxctl;help;consume'= {
        }
        &'outboxctl;help;up'= {
        }
        &'outboxctl;help;completions'= {
        }
        &'outboxctl;help;man'= {
        }
        &'outboxctl;help;help'= {
        }
    ]
    $completions[$command]
}
