/** The embedded store's tables. Versioned by `user_version`; migrations append, never rewrite. */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE channels (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    retention_ms INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    channel TEXT NOT NULL
  );
  -- One row per appended message; 'pending' counts deliveries not yet acknowledged.
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    appended_at INTEGER NOT NULL,
    pending INTEGER NOT NULL
  );
  CREATE INDEX messages_done ON messages (channel, appended_at) WHERE pending = 0;
  -- One row per (subscription, message) still to be processed. 'visible_at' is the SQS-style
  -- visibility time: a claim pushes it to the lease end, a nack to the retry time.
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    subscription TEXT NOT NULL,
    seq INTEGER NOT NULL,
    pkey TEXT,
    visible_at INTEGER NOT NULL,
    leased INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress TEXT,
    history TEXT
  );
  CREATE INDEX deliveries_fifo ON deliveries (subscription, id);
  CREATE INDEX deliveries_key ON deliveries (subscription, pkey, id) WHERE pkey IS NOT NULL;
  CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    route TEXT NOT NULL,
    step TEXT,
    error_code TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
  );
  CREATE INDEX dead_letters_route ON dead_letters (route, created_at);
  CREATE TABLE journal (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    route TEXT NOT NULL,
    step TEXT,
    outcome TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    error TEXT,
    detail TEXT
  );
  CREATE INDEX journal_message ON journal (message_id);
  CREATE INDEX journal_correlation ON journal (correlation_id);
  CREATE INDEX journal_at ON journal (at);
  CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_age ON idempotency (created_at);
  CREATE TABLE checkpoints (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE dlq_audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    dead_letter_id TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX dlq_audit_letter ON dlq_audit (dead_letter_id);
  CREATE INDEX dead_letters_status ON dead_letters (status, route);
  `,
  `
  CREATE TABLE dedupe_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  CREATE INDEX dedupe_keys_age ON dedupe_keys (scope, seen_at);
  `,
  `
  -- A claim hands out a lease handle, never reused: a worker whose lease expired and was taken
  -- over holds a stale handle, and its ack, nack or dead letter then touches nothing.
  ALTER TABLE deliveries ADD COLUMN handle INTEGER;
  CREATE INDEX deliveries_handle ON deliveries (handle) WHERE handle IS NOT NULL;
  `,
  `
  -- The journal, slimmed: one row per message per commit holding that commit's hops for it (a JSON
  -- array of {route, step, outcome, durationMs, error?, detail?}), instead of one row per hop.
  -- correlation_id is NULL when it equals the message id (most messages), so its index stays small.
  -- No time index: retention deletes by id range (ids grow with time).
  CREATE TABLE journal_hops (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    correlation_id TEXT,
    hops TEXT NOT NULL
  );
  INSERT INTO journal_hops (id, at, message_id, correlation_id, hops)
    SELECT id, at, message_id, NULLIF(correlation_id, message_id),
      json_array(json_object('route', route, 'step', step, 'outcome', outcome, 'durationMs', duration_ms,
        'error', json(error), 'detail', json(detail)))
    FROM journal ORDER BY id;
  DROP TABLE journal;
  CREATE INDEX journal_hops_message ON journal_hops (message_id);
  CREATE INDEX journal_hops_correlation ON journal_hops (correlation_id) WHERE correlation_id IS NOT NULL;
  `,
  `
  -- The schema registry: schema texts by global id, subjects' versions, compatibility per subject
  -- ('' is the global default). A deleted version keeps its number; versions never renumber.
  CREATE TABLE registry_schemas (
    id INTEGER PRIMARY KEY,
    schema_type TEXT NOT NULL,
    schema TEXT NOT NULL,
    UNIQUE (schema_type, schema)
  );
  CREATE TABLE registry_versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_id INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (subject, version)
  ) WITHOUT ROWID;
  CREATE INDEX registry_versions_schema ON registry_versions (schema_id);
  CREATE TABLE registry_config (
    subject TEXT PRIMARY KEY,
    compatibility TEXT NOT NULL
  );
  `,
  `
  -- Deliveries per subscription, kept with every commit that adds or removes one, so opening a
  -- store with a large backlog reads one row per subscription instead of counting the backlog.
  ALTER TABLE subscriptions ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
  UPDATE subscriptions SET deliveries = (SELECT count(*) FROM deliveries d WHERE d.subscription = subscriptions.name);
  `,
  `
  -- The partition key of the delivery a dead letter came from: a replay keeps the message in its
  -- key's order. NULL for letters from before this column and for unkeyed channels.
  ALTER TABLE dead_letters ADD COLUMN pkey TEXT;
  `,
];
