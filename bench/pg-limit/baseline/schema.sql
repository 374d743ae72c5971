-- The schema of commit 6dfe5ac, the last before the payment ledger (its migrations 001–004), frozen:
-- the frozen baseline's statements (create.sql, get.sql, list.sql beside this file) run against it,
-- in a schema of its own (`baseline`) of the bench database. Never regenerate or edit it: it is the
-- yardstick that must not move (docs/performance.md, "The frozen baseline"). pg_dump --schema-only.
CREATE TABLE idempotency_keys (
    user_id text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    state text NOT NULL,
    transaction_id uuid,
    response_status integer,
    response_body jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE order_items (
    order_id uuid NOT NULL,
    "position" integer NOT NULL,
    product_id text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL,
    unit_price bigint NOT NULL,
    line_total bigint NOT NULL,
    CONSTRAINT order_items_quantity_check CHECK ((quantity > 0))
);

CREATE TABLE order_status_history (
    id bigint NOT NULL,
    order_id uuid NOT NULL,
    status text NOT NULL,
    actor text NOT NULL,
    note text,
    at timestamp with time zone NOT NULL
);

CREATE SEQUENCE order_status_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE order_status_history_id_seq OWNED BY order_status_history.id;

CREATE TABLE orders (
    id uuid NOT NULL,
    user_id text NOT NULL,
    status text NOT NULL,
    currency character(3) NOT NULL,
    total bigint NOT NULL,
    email text,
    shipping_address jsonb,
    tracking jsonb,
    transaction_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT orders_total_check CHECK ((total >= 0))
);

CREATE TABLE outbox (
    id uuid NOT NULL,
    kind text NOT NULL,
    topic text NOT NULL,
    payload jsonb NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone
);

CREATE TABLE payment_transactions (
    id uuid NOT NULL,
    order_id uuid NOT NULL,
    customer_id text NOT NULL,
    provider text NOT NULL,
    provider_reference text,
    status text NOT NULL,
    amount bigint NOT NULL,
    amount_refunded bigint DEFAULT 0 NOT NULL,
    currency character(3) NOT NULL,
    source text NOT NULL,
    decline_code text,
    failure_reason text,
    order_draft jsonb NOT NULL,
    abandoned boolean DEFAULT false NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payment_transactions_amount_check CHECK ((amount >= 0)),
    CONSTRAINT payment_transactions_check CHECK (((amount_refunded >= 0) AND (amount_refunded <= amount)))
);

CREATE TABLE products (
    id text NOT NULL,
    name text NOT NULL,
    price bigint NOT NULL,
    currency character(3) NOT NULL,
    active boolean DEFAULT true NOT NULL,
    stock integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_price_check CHECK ((price >= 0)),
    CONSTRAINT products_stock_check CHECK ((stock >= 0))
);

CREATE TABLE webhook_events (
    provider text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY order_status_history ALTER COLUMN id SET DEFAULT nextval('order_status_history_id_seq'::regclass);

ALTER TABLE ONLY idempotency_keys
    ADD CONSTRAINT idempotency_keys_pk PRIMARY KEY (user_id, key);

ALTER TABLE ONLY order_items
    ADD CONSTRAINT order_items_pk PRIMARY KEY (order_id, "position");

ALTER TABLE ONLY order_status_history
    ADD CONSTRAINT order_status_history_pkey PRIMARY KEY (id);

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY payment_transactions
    ADD CONSTRAINT payment_transactions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

ALTER TABLE ONLY webhook_events
    ADD CONSTRAINT webhook_events_pk PRIMARY KEY (provider, event_id);

CREATE INDEX idempotency_keys_expires ON idempotency_keys USING btree (expires_at);

CREATE INDEX order_status_history_order ON order_status_history USING btree (order_id, id);

CREATE INDEX orders_user_created ON orders USING btree (user_id, created_at DESC, id DESC);

CREATE INDEX orders_user_status_created ON orders USING btree (user_id, status, created_at DESC, id DESC);

CREATE INDEX outbox_delivered_at ON outbox USING btree (delivered_at) WHERE (status = 'delivered'::text);

CREATE INDEX outbox_due ON outbox USING btree (kind, next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX payment_transactions_order ON payment_transactions USING btree (order_id);

CREATE UNIQUE INDEX payment_transactions_provider_ref ON payment_transactions USING btree (provider, provider_reference) WHERE (provider_reference IS NOT NULL);

CREATE INDEX payment_transactions_unsettled ON payment_transactions USING btree (next_attempt_at) WHERE (status = ANY (ARRAY['processing'::text, 'refund_pending'::text]));

CREATE INDEX products_active_id ON products USING btree (id) WHERE (active = true);

ALTER TABLE ONLY order_items
    ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE;

ALTER TABLE ONLY order_status_history
    ADD CONSTRAINT order_status_history_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE;

