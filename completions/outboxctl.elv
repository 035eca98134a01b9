
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
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
            cand topology 'Declare the RabbitMQ exchanges and queues'
            cand lanes 'The lanes that bound how many batches are in flight across all relayers: show, set'
            cand config 'Show or check the effective configuration'
            cand relay 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
            cand serve 'Serve the producer HTTP API (POST /uploads and friends)'
            cand consume 'Process messages from a queue, each effect exactly once'
            cand up 'Migrate, declare the topology, then serve, relay and consume in one process'
            cand outbox 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge'
            cand lag 'How far behind each stage is: pending rows and their age, queues, unconsumed'
            cand status 'Who is running: every relayer, consumer, API and orchestrator, the broker''s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it'
            cand doctor 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action'
            cand top 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them'
            cand dlq 'The dead-letter queue: ls, show, replay, drop, purge'
            cand handlers 'The handlers the consumer runs ([[handlers]] in the config file): ls'
            cand saga 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph'
            cand bench 'Measure a stage against the servers'' own limit, in a database and queues of its own'
            cand verify 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout, or write one page per command into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;migrate'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;topology'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand apply 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;topology;apply'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;topology;help'= {
            cand apply 'Declare the exchange, work queues with their bindings, retry and dead-letter queues (idempotent)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;topology;help;apply'= {
        }
        &'outboxctl;topology;help;help'= {
        }
        &'outboxctl;lanes'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand show 'How many lanes there are, and the pending rows in them'
            cand set 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;lanes;show'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;lanes;set'= {
            cand --wait 'Longest to wait for the batches in flight and the table lock'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;lanes;help'= {
            cand show 'How many lanes there are, and the pending rows in them'
            cand set 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;lanes;help;show'= {
        }
        &'outboxctl;lanes;help;set'= {
        }
        &'outboxctl;lanes;help;help'= {
        }
        &'outboxctl;config'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;config;show'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;config;check'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;config;help'= {
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;config;help;show'= {
        }
        &'outboxctl;config;help;check'= {
        }
        &'outboxctl;config;help;help'= {
        }
        &'outboxctl;relay'= {
            cand --interval 'Poll this often even without notifications [setting: relay.interval] [env: OUTBOX_RELAY_INTERVAL]'
            cand --batch-size 'Rows claimed per batch [setting: relay.batch_size] [env: OUTBOX_RELAY_BATCH_SIZE]'
            cand --workers 'Batches in flight at once, each on its own connection and channel [setting: relay.workers] [env: OUTBOX_RELAY_WORKERS]'
            cand --max-attempts 'Attempts before a row is dead [setting: relay.max_attempts] [env: OUTBOX_RELAY_MAX_ATTEMPTS]'
            cand --metrics-listen 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --once 'Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error'
            cand --poll-only 'Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling) [setting: relay.poll_only] [env: OUTBOX_RELAY_POLL_ONLY]'
            cand --no-topology 'Do not declare the RabbitMQ topology on start [setting: relay.apply_topology] [env: OUTBOX_RELAY_APPLY_TOPOLOGY]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;serve'= {
            cand --listen 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;consume'= {
            cand --queue 'Queue to consume [default: the first of broker.queues] [setting: consumer.queue] [env: OUTBOX_CONSUMER_QUEUE]'
            cand --prefetch 'Deliveries in flight ahead of acknowledgements [setting: consumer.prefetch] [env: OUTBOX_CONSUMER_PREFETCH]'
            cand --concurrency 'Messages processed at once [setting: consumer.concurrency] [env: OUTBOX_CONSUMER_CONCURRENCY]'
            cand --name 'Consumer name in consumed_messages [default: the queue name] [setting: consumer.name] [env: OUTBOX_CONSUMER_NAME]'
            cand --metrics-listen 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --no-topology 'Do not declare the RabbitMQ topology on start [setting: consumer.apply_topology] [env: OUTBOX_CONSUMER_APPLY_TOPOLOGY]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;up'= {
            cand --listen 'Address the API listens on [setting: api.listen] [env: OUTBOX_API_LISTEN]'
            cand --metrics-listen 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand ls 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
            cand show 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
            cand why 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
            cand replay 'Publish sent rows again (same message id by default: consumers that have it skip it)'
            cand requeue 'Put dead rows back to pending with their attempts reset'
            cand retry 'Send rows that wait out a backoff now (after the cause was fixed)'
            cand discard 'Throw pending or dead rows away; each is kept as it was in the audit trail'
            cand edit 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
            cand purge 'Delete old sent rows in bounded batches'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;outbox;ls'= {
            cand --topic 'Only this topic'
            cand --key 'Only this partition key'
            cand --since 'Created at or after: 1h (ago), 2026-11-27, 2026-11-27T10:00:00Z'
            cand --until 'Created before (same forms as --since)'
            cand --limit 'At most this many rows'
            cand --by 'With --dead: one line per cause (the last error with its ids and numbers masked): rows, topics, first and last seen, an example'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --pending 'Only rows waiting to go out'
            cand --sent 'Only rows the broker confirmed'
            cand --dead 'Only rows that gave up after relay.max_attempts'
            cand --all 'Rows of every status (the default)'
            cand --oldest-first 'Oldest first (default: newest first)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;show'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;why'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;replay'= {
            cand --topic 'Every sent row of this topic created in --since..--until'
            cand --since 'With --topic: created at or after (1h, 2026-11-27, RFC 3339)'
            cand --until 'With --topic: created before'
            cand --batch 'Rows changed per transaction (a progress bar shows on a terminal)'
            cand --max-id 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --same-id 'Keep each row''s message id: consumers that processed it skip it (the default)'
            cand --new-id 'Publish copies with new message ids: consumers process them again'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one row is affected'
            cand --yes 'Do not ask for confirmation when more than one row is affected'
            cand --force 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;requeue'= {
            cand --topic 'With --dead: only this topic'
            cand --batch 'Rows changed per transaction (a progress bar shows on a terminal)'
            cand --max-id 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dead 'Every dead row (of --topic, if given)'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one row is affected'
            cand --yes 'Do not ask for confirmation when more than one row is affected'
            cand --force 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;retry'= {
            cand --topic 'With --failing: only this topic'
            cand --batch 'Rows changed per transaction (a progress bar shows on a terminal)'
            cand --max-id 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --failing 'Every row waiting out a backoff (of --topic, if given)'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one row is affected'
            cand --yes 'Do not ask for confirmation when more than one row is affected'
            cand --force 'Send saga commands out again even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;discard'= {
            cand --topic 'With --dead or --pending: only this topic'
            cand --batch 'Rows changed per transaction (a progress bar shows on a terminal)'
            cand --max-id 'With a selection by filter: only rows with an id up to ID (an interrupted change prints the command for the rest with it)'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dead 'Every dead row (of --topic, if given)'
            cand --pending 'Every pending row of --topic'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one row is affected'
            cand --yes 'Do not ask for confirmation when more than one row is affected'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;edit'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;purge'= {
            cand --older-than 'Only rows sent longer ago than this, e.g. 7d'
            cand --batch 'Rows deleted per transaction'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --sent 'Delete sent rows (the only kind purge deletes; required to say so)'
            cand --dry-run 'Count what would be deleted, delete nothing'
            cand --no-vacuum 'Do not VACUUM the outbox after deleting (leave it to autovacuum)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;outbox;help'= {
            cand ls 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
            cand show 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
            cand why 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
            cand replay 'Publish sent rows again (same message id by default: consumers that have it skip it)'
            cand requeue 'Put dead rows back to pending with their attempts reset'
            cand retry 'Send rows that wait out a backoff now (after the cause was fixed)'
            cand discard 'Throw pending or dead rows away; each is kept as it was in the audit trail'
            cand edit 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
            cand purge 'Delete old sent rows in bounded batches'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;outbox;help;ls'= {
        }
        &'outboxctl;outbox;help;show'= {
        }
        &'outboxctl;outbox;help;why'= {
        }
        &'outboxctl;outbox;help;replay'= {
        }
        &'outboxctl;outbox;help;requeue'= {
        }
        &'outboxctl;outbox;help;retry'= {
        }
        &'outboxctl;outbox;help;discard'= {
        }
        &'outboxctl;outbox;help;edit'= {
        }
        &'outboxctl;outbox;help;purge'= {
        }
        &'outboxctl;outbox;help;help'= {
        }
        &'outboxctl;lag'= {
            cand --watch 'Redraw every DURATION until interrupted'
            cand --max-age 'Exit 1 when a due row has waited longer than this (for cron alerts; rows scheduled for later are not late)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;status'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;doctor'= {
            cand --long-after 'A transaction, idle session or prepared transaction that has held the xmin horizon longer than this is a finding'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;top'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand ls 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
            cand show 'One dead letter in full (it stays in the queue)'
            cand replay 'Move dead letters back to their work queues, attempts reset'
            cand drop 'Delete chosen dead letters for good'
            cand purge 'Delete every dead letter of every queue (or --queue''s)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;dlq;ls'= {
            cand --queue 'Only the dead letters of this work queue [default: those of every queue of broker.queues]'
            cand --limit 'At most this many messages (without --by)'
            cand --by 'One line per cause (the handler, its SQLSTATE, HTTP status or exit status, the message with ids and numbers masked): count, queues, first and last seen, an example'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --wide 'Every column in full, however wide the terminal (a pipe gets that anyway)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq;show'= {
            cand --queue 'Only the dead letters of this work queue [default: those of every queue of broker.queues]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq;replay'= {
            cand --reason 'Move one cause of `dlq ls --by reason`: its number (#) or key'
            cand --queue 'Only the dead letters of this work queue [default: those of every queue of broker.queues]'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --all 'Move every dead letter'
            cand --force 'Move saga commands back even when their saga has moved on (an outside participant would act on them; outboxctl''s handlers fence them)'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq;drop'= {
            cand --reason 'Delete one cause of `dlq ls --by reason`: its number (#) or key'
            cand --queue 'Only the dead letters of this work queue [default: those of every queue of broker.queues]'
            cand --rate 'At most this many per second (100/s, 6000/m, or a number), so a recovering downstream is not flooded [default: as fast as it goes]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq;purge'= {
            cand --queue 'Only the dead letters of this work queue [default: those of every queue of broker.queues]'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dry-run 'Count what would be deleted, delete nothing'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;dlq;help'= {
            cand ls 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
            cand show 'One dead letter in full (it stays in the queue)'
            cand replay 'Move dead letters back to their work queues, attempts reset'
            cand drop 'Delete chosen dead letters for good'
            cand purge 'Delete every dead letter of every queue (or --queue''s)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;dlq;help;ls'= {
        }
        &'outboxctl;dlq;help;show'= {
        }
        &'outboxctl;dlq;help;replay'= {
        }
        &'outboxctl;dlq;help;drop'= {
        }
        &'outboxctl;dlq;help;purge'= {
        }
        &'outboxctl;dlq;help;help'= {
        }
        &'outboxctl;handlers'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand ls 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;handlers;ls'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --wide 'Every column in full, however wide the terminal (a pipe gets that anyway)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;handlers;help'= {
            cand ls 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;handlers;help;ls'= {
        }
        &'outboxctl;handlers;help;help'= {
        }
        &'outboxctl;saga'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand run 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
            cand ls 'List instances: id, saga, key, state, step, attempt, age, reason'
            cand show 'One instance''s timeline: each step, attempt, duration, output or reason'
            cand why 'What an instance waits for and what to do about it; of a finished one, its story'
            cand abort 'Compensate now: undo the steps done so far, in reverse'
            cand retry 'Send the waited-for command (or compensation) once more'
            cand plan 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
            cand graph 'The steps and compensations of a saga, as a Mermaid flowchart'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;saga;run'= {
            cand --queue 'Queue the orchestrator takes starts, replies and time-outs from [setting: orchestrator.queue] [env: OUTBOX_ORCHESTRATOR_QUEUE]'
            cand --metrics-listen 'Serve Prometheus metrics at http://ADDR/metrics [setting: metrics.listen] [env: OUTBOX_METRICS_LISTEN]'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;ls'= {
            cand --saga 'Only this saga'
            cand --state 'Only this state: running, compensating, completed, compensated, failed'
            cand --correlation 'Only the instance(s) of this business key (the start payload''s correlate field)'
            cand --older-than 'Only instances started longer ago than this, e.g. 10m'
            cand --limit 'At most this many'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --wide 'Every column in full, however wide the terminal (a pipe gets that anyway)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;show'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --wide 'Every column in full, however wide the terminal (a pipe gets that anyway)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;why'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;abort'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one instance is affected'
            cand --yes 'Do not ask for confirmation when more than one instance is affected'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;retry'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --dry-run 'Say what would happen, change nothing'
            cand -y 'Do not ask for confirmation when more than one instance is affected'
            cand --yes 'Do not ask for confirmation when more than one instance is affected'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;plan'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;graph'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;saga;help'= {
            cand run 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
            cand ls 'List instances: id, saga, key, state, step, attempt, age, reason'
            cand show 'One instance''s timeline: each step, attempt, duration, output or reason'
            cand why 'What an instance waits for and what to do about it; of a finished one, its story'
            cand abort 'Compensate now: undo the steps done so far, in reverse'
            cand retry 'Send the waited-for command (or compensation) once more'
            cand plan 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
            cand graph 'The steps and compensations of a saga, as a Mermaid flowchart'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'outboxctl;saga;help;run'= {
        }
        &'outboxctl;saga;help;ls'= {
        }
        &'outboxctl;saga;help;show'= {
        }
        &'outboxctl;saga;help;why'= {
        }
        &'outboxctl;saga;help;abort'= {
        }
        &'outboxctl;saga;help;retry'= {
        }
        &'outboxctl;saga;help;plan'= {
        }
        &'outboxctl;saga;help;graph'= {
        }
        &'outboxctl;saga;help;help'= {
        }
        &'outboxctl;bench'= {
            cand --events 'Events to relay (drain, default 100000; soak, default 10000000), consume (consume, default 20000), sagas (saga, default 2000), rows and messages to change (ops, default 100000) or starts (start, default 10)'
            cand --rate 'Events per second (e2e, default 1000), or sagas started per second in saga''s latency part (default: a fifth of the saga throughput it measured)'
            cand --rates 'e2e: the latency curve — each rate in turn for --duration (default 20s each), and the highest rate whose p99 stays within 50 ms'
            cand --duration 'How long to produce (e2e, default 30s) or send requests (api, default 10s)'
            cand --concurrency 'Concurrent clients (api, default 16) or consumer lanes (consume, default consumer.concurrency)'
            cand --payload-bytes 'Size of each event''s JSON payload'
            cand --keys 'Distinct partition keys in a drain backlog (0: every row its own key)'
            cand --queue-type 'Queue type of the benchmark''s queues [default: broker.queue_type]'
            cand --handler 'consume: the handler measured — the upload example, an sql statement, or a webhook to a receiver the benchmark runs'
            cand --receiver-delay 'consume --handler http: how long the benchmark''s receiver takes per request (a webhook does some work; 0s measures the pipeline''s own cost)'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand --no-vacuum 'soak: purge without the VACUUM `outbox purge` runs after deleting (autovacuum only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;verify'= {
            cand --events 'Events to push through the pipeline'
            cand --kills 'SIGKILLs, taking turns over the relayers and consumers, each restarted at once'
            cand --cuts 'Connection faults, taking turns over the processes and kinds: reset, a 2 s stall, a 1 s refusal, of the database and of the broker connection'
            cand --rate 'Events committed per second while the faults land'
            cand --keys 'Distinct partition keys'
            cand --relays 'Relayer processes'
            cand --consumers 'Consumer processes'
            cand --queue-type 'Queue type of the run''s queues [default: broker.queue_type]'
            cand --seed 'Seed of the fault schedule (printed with the report), to run the same campaign again'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;completions'= {
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;man'= {
            cand --out-dir 'Write outboxctl.1 and one page per subcommand into this directory'
            cand --config 'Configuration file [default: ./outbox.toml when present]'
            cand --database-url 'PostgreSQL URL [setting: database.url] [env: OUTBOX_DATABASE_URL]'
            cand --broker-url 'RabbitMQ URL [setting: broker.url] [env: OUTBOX_BROKER_URL]'
            cand --log-level 'Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug [setting: log.level] [env: OUTBOX_LOG_LEVEL]'
            cand --log-format 'Log line format on stderr [setting: log.format] [env: OUTBOX_LOG_FORMAT]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'outboxctl;help'= {
            cand migrate 'Apply the embedded database migrations (outbox, uploads, consumed_messages)'
            cand topology 'Declare the RabbitMQ exchanges and queues'
            cand lanes 'The lanes that bound how many batches are in flight across all relayers: show, set'
            cand config 'Show or check the effective configuration'
            cand relay 'Publish pending outbox rows to RabbitMQ, marking them sent once confirmed'
            cand serve 'Serve the producer HTTP API (POST /uploads and friends)'
            cand consume 'Process messages from a queue, each effect exactly once'
            cand up 'Migrate, declare the topology, then serve, relay and consume in one process'
            cand outbox 'Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge'
            cand lag 'How far behind each stage is: pending rows and their age, queues, unconsumed'
            cand status 'Who is running: every relayer, consumer, API and orchestrator, the broker''s consumers per queue, a verdict per stage; exit 1 when a stage has nobody serving it'
            cand doctor 'Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs action'
            cand top 'A live view in the terminal: rates and lag per stage, processes, failing topics, dead letters, and the rows that need you — with keys to see why and to retry, requeue or discard them'
            cand dlq 'The dead-letter queue: ls, show, replay, drop, purge'
            cand handlers 'The handlers the consumer runs ([[handlers]] in the config file): ls'
            cand saga 'Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort, retry, graph'
            cand bench 'Measure a stage against the servers'' own limit, in a database and queues of its own'
            cand verify 'Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and cut, stalled and refused connections, counted by an independent observer; exit 1 on any loss, duplicate effect or order violation'
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
        &'outboxctl;help;lanes'= {
            cand show 'How many lanes there are, and the pending rows in them'
            cand set 'Renumber the lanes: waits for the batches in flight, moves every pending row to its new lane in one transaction (writers wait meanwhile)'
        }
        &'outboxctl;help;lanes;show'= {
        }
        &'outboxctl;help;lanes;set'= {
        }
        &'outboxctl;help;config'= {
            cand show 'Print the effective configuration as TOML (passwords masked), with each value''s source'
            cand check 'Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every handler can work, the topology and bindings are declared and the management API answers; exit 1 when a check failed'
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
        &'outboxctl;help;outbox'= {
            cand ls 'List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead), attempts, age, last error'
            cand show 'Everything about one row: payload, headers, timestamps, attempts, consumption, audit'
            cand why 'Explain why a row has not gone out (or when it did, and what consumers made of it)'
            cand replay 'Publish sent rows again (same message id by default: consumers that have it skip it)'
            cand requeue 'Put dead rows back to pending with their attempts reset'
            cand retry 'Send rows that wait out a backoff now (after the cause was fixed)'
            cand discard 'Throw pending or dead rows away; each is kept as it was in the audit trail'
            cand edit 'Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)'
            cand purge 'Delete old sent rows in bounded batches'
        }
        &'outboxctl;help;outbox;ls'= {
        }
        &'outboxctl;help;outbox;show'= {
        }
        &'outboxctl;help;outbox;why'= {
        }
        &'outboxctl;help;outbox;replay'= {
        }
        &'outboxctl;help;outbox;requeue'= {
        }
        &'outboxctl;help;outbox;retry'= {
        }
        &'outboxctl;help;outbox;discard'= {
        }
        &'outboxctl;help;outbox;edit'= {
        }
        &'outboxctl;help;outbox;purge'= {
        }
        &'outboxctl;help;lag'= {
        }
        &'outboxctl;help;status'= {
        }
        &'outboxctl;help;doctor'= {
        }
        &'outboxctl;help;top'= {
        }
        &'outboxctl;help;dlq'= {
            cand ls 'List the dead letters of every queue (or --queue''s): queue, id, topic, attempts, age, reason — or one line per cause with --by reason (they stay in their queues)'
            cand show 'One dead letter in full (it stays in the queue)'
            cand replay 'Move dead letters back to their work queues, attempts reset'
            cand drop 'Delete chosen dead letters for good'
            cand purge 'Delete every dead letter of every queue (or --queue''s)'
        }
        &'outboxctl;help;dlq;ls'= {
        }
        &'outboxctl;help;dlq;show'= {
        }
        &'outboxctl;help;dlq;replay'= {
        }
        &'outboxctl;help;dlq;drop'= {
        }
        &'outboxctl;help;dlq;purge'= {
        }
        &'outboxctl;help;handlers'= {
            cand ls 'Every handler: name, queue, kind, topics, target (secrets masked), limits'
        }
        &'outboxctl;help;handlers;ls'= {
        }
        &'outboxctl;help;saga'= {
            cand run 'Orchestrate: take starts, replies and time-outs from orchestrator.queue'
            cand ls 'List instances: id, saga, key, state, step, attempt, age, reason'
            cand show 'One instance''s timeline: each step, attempt, duration, output or reason'
            cand why 'What an instance waits for and what to do about it; of a finished one, its story'
            cand abort 'Compensate now: undo the steps done so far, in reverse'
            cand retry 'Send the waited-for command (or compensation) once more'
            cand plan 'Check the configuration''s saga definitions against the instances in flight: exit 0 when running them strands none, 1 listing each change and the instances it strands'
            cand graph 'The steps and compensations of a saga, as a Mermaid flowchart'
        }
        &'outboxctl;help;saga;run'= {
        }
        &'outboxctl;help;saga;ls'= {
        }
        &'outboxctl;help;saga;show'= {
        }
        &'outboxctl;help;saga;why'= {
        }
        &'outboxctl;help;saga;abort'= {
        }
        &'outboxctl;help;saga;retry'= {
        }
        &'outboxctl;help;saga;plan'= {
        }
        &'outboxctl;help;saga;graph'= {
        }
        &'outboxctl;help;bench'= {
        }
        &'outboxctl;help;verify'= {
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
