-- The frozen baseline's data, in its schema (`baseline`): the catalog the service is seeded with
-- (bench/lib/seed.ts) and the orders get.sql and list.sql read, with the ids, owners, items and
-- payments bench/lib/fixtures.ts gives the service's own fixtures, in the rows 6dfe5ac wrote for an
-- order. :products and :read_orders are the bench's figures; :users its user count.
insert into products (id, name, price, currency, active, stock)
select (1000 + k)::text, 'Product ' || k, 100 + (k * 7919) % 9900, 'USD', true, 1000000000
from generate_series(1, :products) k;

create temp table fx on commit drop as
select g, lpad(to_hex((1::bigint << 40) | g), 32, '0')::uuid as order_id, lpad(to_hex((9::bigint << 40) | g), 32, '0')::uuid as tx_id,
       (100000 + 1 + (g - 1) % :users)::text as user_id, now() - g * interval '1 second' as at
from generate_series(1, :read_orders) g;

create temp table fx_items on commit drop as
select f.order_id, p.position, pr.id as product_id, pr.name, x.q as quantity, pr.price as unit_price, pr.price * x.q as line_total
from fx f
cross join lateral generate_series(0, f.g % 3) p(position)
cross join lateral (select (1000 + 1 + (f.g * 7 + p.position * 131) % :products)::text as pid, 1 + (f.g + p.position) % 3 as q) x
join products pr on pr.id = x.pid;

create temp table fx_tot on commit drop as
select order_id, sum(line_total)::bigint as total,
       jsonb_agg(jsonb_build_object('product_id', product_id, 'name', name, 'quantity', quantity, 'unit_price', unit_price, 'line_total', line_total) order by position) as items
from fx_items group by order_id;

insert into payment_transactions (id, order_id, customer_id, provider, provider_reference, status, amount, currency, source, order_draft, attempts, next_attempt_at, created_at, updated_at)
select f.tx_id, f.order_id, f.user_id, 'sandbox', 'sb_ch_' || f.tx_id, 'succeeded', t.total, 'USD', 'pm_card_visa',
       jsonb_build_object('order_id', f.order_id, 'user_id', f.user_id, 'currency', 'USD', 'items', t.items, 'total', t.total,
                          'email', 'u' || f.user_id || '@bench.example', 'shipping_address', null, 'idempotency_key', null),
       0, f.at, f.at, f.at
from fx f join fx_tot t using (order_id);

insert into orders (id, user_id, status, currency, total, email, shipping_address, tracking, transaction_id, created_at, updated_at)
select f.order_id, f.user_id, 'pending', 'USD', t.total, 'u' || f.user_id || '@bench.example', null, null, f.tx_id, f.at, f.at
from fx f join fx_tot t using (order_id);

insert into order_items (order_id, position, product_id, name, quantity, unit_price, line_total)
select order_id, position, product_id, name, quantity, unit_price, line_total from fx_items;

insert into order_status_history (order_id, status, actor, note, at)
select order_id, 'pending', user_id, null, at from fx;
