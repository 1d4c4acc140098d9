-- The money model: accounts, balances, holds, a double-entry ledger, trades and order history.
-- Every amount is a bigint count of an asset's atoms (10^-decimals); never numeric/float.

CREATE TABLE assets (
    asset    text PRIMARY KEY,
    decimals integer NOT NULL CHECK (decimals BETWEEN 0 AND 18)
);

-- USER: a customer; FEE: where trading fees go; EXTERNAL: the outside world, the other leg of
-- deposits and withdrawals (it has ledger entries but no balance row, so it can go "negative").
CREATE TABLE accounts (
    account_id text PRIMARY KEY,
    kind       text NOT NULL DEFAULT 'USER' CHECK (kind IN ('USER', 'FEE', 'EXTERNAL')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE balances (
    account_id text   NOT NULL REFERENCES accounts,
    asset      text   NOT NULL REFERENCES assets,
    available  bigint NOT NULL DEFAULT 0 CHECK (available >= 0),
    held       bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, asset)
);

-- One hold per order: the worst case the order can spend (quote incl. fees for buys, base for
-- sells). ``remaining`` is what is still held; settlement consumes it, cancel/expiry releases it.
CREATE TABLE holds (
    order_id   text   PRIMARY KEY,
    account_id text   NOT NULL,
    asset      text   NOT NULL,
    symbol     text   NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    remaining  bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    status     text   NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'CLOSED')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, asset) REFERENCES balances (account_id, asset),
    CHECK (status = 'ACTIVE' OR remaining = 0)
);
CREATE INDEX holds_active ON holds (account_id, asset) WHERE status = 'ACTIVE';

-- A journal groups the legs of one movement; its legs sum to zero per asset (checked at commit).
CREATE TABLE journals (
    journal_id text PRIMARY KEY,            -- e.g. 'trade:<trade_id>', 'deposit:<transfer_id>'
    kind       text NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'TRADE')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
    entry_id   bigserial PRIMARY KEY,
    journal_id text   NOT NULL REFERENCES journals,
    account_id text   NOT NULL REFERENCES accounts,
    asset      text   NOT NULL REFERENCES assets,
    amount     bigint NOT NULL CHECK (amount <> 0),   -- + credit to the account, - debit
    memo       text   NOT NULL,                       -- 'base', 'quote', 'fee', 'deposit', ...
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_journal ON ledger_entries (journal_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, asset);

CREATE FUNCTION ledger_journal_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM ledger_entries WHERE journal_id = NEW.journal_id
        GROUP BY asset HAVING sum(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'journal % does not balance', NEW.journal_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entries_balance
    AFTER INSERT OR UPDATE ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_balances();

-- Deposits and withdrawals, idempotent on transfer_id.
CREATE TABLE transfers (
    transfer_id text   PRIMARY KEY,
    account_id  text   NOT NULL REFERENCES accounts,
    asset       text   NOT NULL REFERENCES assets,
    direction   text   NOT NULL CHECK (direction IN ('DEPOSIT', 'WITHDRAWAL')),
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per matcher trade; settled exactly once (the primary key is the idempotency guard).
CREATE TABLE trades (
    trade_id         text   PRIMARY KEY,
    symbol           text   NOT NULL,
    seq              bigint NOT NULL,          -- the matcher's per-symbol sequence
    price            bigint NOT NULL CHECK (price > 0),
    quantity         bigint NOT NULL CHECK (quantity > 0),
    taker_side       text   NOT NULL CHECK (taker_side IN ('BUY', 'SELL')),
    maker_order_id   text   NOT NULL,
    taker_order_id   text   NOT NULL,
    maker_account_id text   NOT NULL,
    taker_account_id text   NOT NULL,
    maker_fee        bigint NOT NULL CHECK (maker_fee >= 0),   -- quote atoms
    taker_fee        bigint NOT NULL CHECK (taker_fee >= 0),   -- quote atoms
    executed_at      timestamptz NOT NULL,
    settled_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (symbol, seq)
);
CREATE INDEX trades_symbol_time ON trades (symbol, executed_at);

-- Terminal orders, archived from DynamoDB ``Orders``.
CREATE TABLE order_history (
    order_id        text PRIMARY KEY,
    account_id      text NOT NULL,
    symbol          text NOT NULL,
    side            text NOT NULL,
    order_type      text NOT NULL,
    status          text NOT NULL,
    price           bigint,
    quantity        bigint,
    filled_quantity bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    closed_at       timestamptz NOT NULL,
    document        jsonb NOT NULL
);
CREATE INDEX order_history_account ON order_history (account_id, created_at);

INSERT INTO assets (asset, decimals) VALUES ('BTC', 8), ('ETH', 8), ('USD', 6);
INSERT INTO accounts (account_id, kind) VALUES ('external', 'EXTERNAL'), ('fees', 'FEE');
