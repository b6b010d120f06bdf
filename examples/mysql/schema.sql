-- Tables for examples/mysql/junction.yaml:  mysql -h 127.0.0.1 -u root test < examples/mysql/schema.sql
CREATE TABLE IF NOT EXISTS customers (
  id    INT PRIMARY KEY,
  name  VARCHAR(100) NOT NULL,
  tier  VARCHAR(20) NOT NULL DEFAULT 'standard'
);
INSERT IGNORE INTO customers VALUES (1, 'Ada Lovelace', 'gold'), (2, 'Alan Turing', 'standard');

CREATE TABLE IF NOT EXISTS orders (
  id             VARCHAR(40) PRIMARY KEY,        -- the shop's order id: the upsert key
  customer_id    INT NOT NULL,
  customer_tier  VARCHAR(20),
  total          DECIMAL(12, 2) NOT NULL CHECK (total >= 0),
  status         VARCHAR(20) NOT NULL,
  `lines`        JSON NOT NULL,
  message_id     CHAR(36) NOT NULL,              -- the Junction message that wrote it last
  correlation_id CHAR(36) NOT NULL,
  -- Microseconds, set on every insert and update, so the extraction route sees updates too.
  updated_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  INDEX orders_watermark (updated_at, id)
);
