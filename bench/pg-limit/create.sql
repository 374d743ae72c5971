-- POST /api/orders (1–3 items, sandbox): the statements the service issues, in its two
-- transactions around the (in-process) charge; bench/capture-sql.ts prints them.
-- Ids are random 128-bit values built from pgbench integers; the JSON documents (order draft,
-- outbox payloads) are real ones of the same size, passed as parameters like the service does.
\set n random(1, 3)
\set a :pbase + random(1, :products)
\set b :pbase + random(1, :products)
\set c :pbase + random(1, :products)
\set qa random(1, 3)
\set qb random(1, 3)
\set qc random(1, 3)
\set u :ubase + random(1, :users)
\set amount random(100, 90000)
\set r1 random(1, 70368744177663)
\set r2 random(0, 9223372036854775806)
\set t1 :r1 + 70368744177664
\set e1 :r1 + 140737488355328
\set v1 :r1 + 211106232532992
BEGIN;
\if :n = 1
select * from "products" where "id" in (:a);
\elif :n = 2
select * from "products" where "id" in (:a, :b);
\else
select * from "products" where "id" in (:a, :b, :c);
\endif
\if :n = 1
with wanted as ( select * from unnest(ARRAY[:a::text]::text[], ARRAY[:qa::int]::int[]) as w(id, quantity) ), locked as ( select p.id, p.stock from products p join wanted w on w.id = p.id where p.stock is not null order by p.id for update of p ), taken as ( update products p set stock = p.stock - w.quantity, updated_at = now() from wanted w, locked l where p.id = w.id and l.id = p.id and l.stock >= w.quantity returning p.id ) select l.id, exists (select 1 from taken t where t.id = l.id) as ok from locked l;
\elif :n = 2
with wanted as ( select * from unnest(ARRAY[:a::text, :b::text]::text[], ARRAY[:qa::int, :qb::int]::int[]) as w(id, quantity) ), locked as ( select p.id, p.stock from products p join wanted w on w.id = p.id where p.stock is not null order by p.id for update of p ), taken as ( update products p set stock = p.stock - w.quantity, updated_at = now() from wanted w, locked l where p.id = w.id and l.id = p.id and l.stock >= w.quantity returning p.id ) select l.id, exists (select 1 from taken t where t.id = l.id) as ok from locked l;
\else
with wanted as ( select * from unnest(ARRAY[:a::text, :b::text, :c::text]::text[], ARRAY[:qa::int, :qb::int, :qc::int]::int[]) as w(id, quantity) ), locked as ( select p.id, p.stock from products p join wanted w on w.id = p.id where p.stock is not null order by p.id for update of p ), taken as ( update products p set stock = p.stock - w.quantity, updated_at = now() from wanted w, locked l where p.id = w.id and l.id = p.id and l.stock >= w.quantity returning p.id ) select l.id, exists (select 1 from taken t where t.id = l.id) as ok from locked l;
\endif
insert into "payment_transactions" ("id", "order_id", "customer_id", "provider", "provider_reference", "status", "amount", "currency", "source", "decline_code", "failure_reason", "order_draft", "next_attempt_at", "created_at", "updated_at") values ((lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, (lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, :u, 'sandbox', null, 'processing', :amount, 'USD', 'pm_card_visa', null, null, :draft, now() + interval '60 seconds', now(), now());
COMMIT;
BEGIN;
select * from "payment_transactions" where "id" = (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid for update;
select * from "payment_transactions" where "provider" = 'sandbox' and "provider_reference" = 'sb_ch_' || (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid;
update "payment_transactions" set "provider_reference" = 'sb_ch_' || (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, "status" = 'succeeded', "updated_at" = now() where "id" = (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid and "status" in ('processing');
\if :n = 1
with "o" as (insert into "orders" ("id", "user_id", "status", "currency", "total", "email", "shipping_address", "tracking", "transaction_id", "created_at", "updated_at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, :u, 'pending', 'USD', :amount, 'u' || :u || '@bench.example', null, null, (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, now(), now())), "i" as (insert into "order_items" ("order_id", "position", "name", "quantity", "line_total", "product_id", "unit_price") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 0, 'Product ' || :a, :qa, :amount, :a, :amount)) insert into "order_status_history" ("order_id", "status", "actor", "note", "at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 'pending', :u, null, now());
\elif :n = 2
with "o" as (insert into "orders" ("id", "user_id", "status", "currency", "total", "email", "shipping_address", "tracking", "transaction_id", "created_at", "updated_at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, :u, 'pending', 'USD', :amount, 'u' || :u || '@bench.example', null, null, (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, now(), now())), "i" as (insert into "order_items" ("order_id", "position", "name", "quantity", "line_total", "product_id", "unit_price") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 0, 'Product ' || :a, :qa, :amount, :a, :amount), ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 1, 'Product ' || :b, :qb, :amount, :b, :amount)) insert into "order_status_history" ("order_id", "status", "actor", "note", "at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 'pending', :u, null, now());
\else
with "o" as (insert into "orders" ("id", "user_id", "status", "currency", "total", "email", "shipping_address", "tracking", "transaction_id", "created_at", "updated_at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, :u, 'pending', 'USD', :amount, 'u' || :u || '@bench.example', null, null, (lpad(to_hex(:t1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, now(), now())), "i" as (insert into "order_items" ("order_id", "position", "name", "quantity", "line_total", "product_id", "unit_price") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 0, 'Product ' || :a, :qa, :amount, :a, :amount), ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 1, 'Product ' || :b, :qb, :amount, :b, :amount), ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 2, 'Product ' || :c, :qc, :amount, :c, :amount)) insert into "order_status_history" ("order_id", "status", "actor", "note", "at") values ((lpad(to_hex(:r1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 'pending', :u, null, now());
\endif
insert into "outbox" ("id", "kind", "topic", "payload", "last_error", "delivered_at") values ((lpad(to_hex(:e1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 'email', 'order_confirmation', :email_payload, null, null), ((lpad(to_hex(:v1::bigint), 16, '0') || lpad(to_hex(:r2::bigint), 16, '0'))::uuid, 'event', 'order.created', :event_payload, null, null);
COMMIT;
