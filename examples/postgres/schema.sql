-- Tables for examples/postgres/junction.yaml:  psql "$PG_URL" -f examples/postgres/schema.sql
CREATE TABLE IF NOT EXISTS customers (
  id         int PRIMARY KEY,
  name       text NOT NULL,
  tier       text NOT NULL DEFAULT 'standard'
);
INSERT INTO customers VALUES (1, 'Ada Lovelace', 'gold'), (2, 'Alan Turing', 'standard')
  ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS orders (
  id             text PRIMARY KEY,             -- the shop's order id: the upsert key
  customer_id    int NOT NULL,
  customer_tier  text,
  total          numeric(12, 2) NOT NULL CHECK (total >= 0),
  status         text NOT NULL,
  lines          jsonb NOT NULL,
  message_id     uuid NOT NULL,                -- the Junction message that wrote it last
  correlation_id text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS orders_watermark ON orders (updated_at, id);

-- Every write moves updated_at forward, so the extraction route sees updates too.
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS orders_touch ON orders;
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Tell listeners about status changes (payload: JSON, at most 8000 bytes).
CREATE OR REPLACE FUNCTION notify_order_status() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('order_status', json_build_object('id', NEW.id, 'status', NEW.status)::text);
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS orders_notify ON orders;
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION notify_order_status();
