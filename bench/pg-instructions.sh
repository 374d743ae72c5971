#!/usr/bin/env bash
# PostgreSQL's instructions per create (and per cancel), counted by callgrind: a yardstick that neither
# the machine's load nor its CPU's speed moves (docs/performance.md, "Instructions per create"; ADR 0030).
#
#   npm run bench -- --scenarios create,cancel --no-doc     # leaves the bench database with its fixtures
#   bash bench/pg-instructions.sh [bench-database-url] [transactions]
#
# Cancel has no frozen baseline: its count is compared with the commit before a change, each on its own
# bench database (docs/adr/0033-ledger-queues-on-the-payment.md).
# The bench database (its data and the frozen baseline's schema) is copied into a throwaway cluster
# started under `valgrind --tool=callgrind`; pgbench runs create.sql, then the frozen baseline's, on
# one connection, twice each (30 and 30 + N transactions): the difference of the two counts of the
# connection's backend, divided by N, is the instructions per transaction without the connection's
# start and its first plans. Same binaries, data and script: the same count to within a fraction of a
# percent, whatever else the machine does.
set -euo pipefail
SOURCE=${1:-postgres://postgres@127.0.0.1:5432/bench}
N=${2:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
for tool in valgrind pgbench pg_dump psql; do
  command -v "$tool" > /dev/null || { echo "pg-instructions: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/pg-instructions.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
URL="postgres://postgres@127.0.0.1:$PORT"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
OPTS="-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c autovacuum=off -c fsync=off -c shared_buffers=128MB"
cleanup() {
  as_pg "$BIN/pg_ctl -D $WORK/data -m immediate stop" > /dev/null 2>&1 || true
  pkill -f "valgrind.*$WORK/data" 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$WORK"

echo "[pg-instructions] copying $SOURCE into a throwaway cluster" >&2
as_pg "$BIN/initdb -D $WORK/data -A trust -U postgres > /dev/null"
as_pg "$BIN/pg_ctl -D $WORK/data -o '$OPTS' -l $WORK/log -w start > /dev/null"
psql -q "$URL/postgres" -c 'create database bench'
pg_dump "$SOURCE" | psql -q "$URL/bench" > /dev/null
# The cancel fixtures (bench/lib/fixtures.ts, set 2), if the bench ran `cancel`: cancel.sql takes the
# orders with two items (g ≡ 1 mod 3) from the end of the pool, which the bench's own run never reached.
POOL=$(psql -At "$URL/bench" -c "select count(*) from orders
  where id between lpad(to_hex(2::bigint << 40), 32, '0')::uuid and lpad(to_hex((3::bigint << 40) - 1), 32, '0')::uuid")
FIRST=$(( POOL - 3 * (N + 60) )); FIRST=$(( FIRST - FIRST % 3 + 1 ))
CANCEL=no
if [ "$FIRST" -gt 0 ] && [ "$(psql -At "$URL/bench" -c "select status from orders where id = lpad(to_hex((2::bigint << 40) | $FIRST), 32, '0')::uuid")" = pending ]; then
  CANCEL=yes
  psql -q "$URL/bench" -c "create sequence bench_cancel_next start $FIRST increment 3"
fi
psql -q "$URL/bench" -c 'vacuum analyze'
DRAFT=$(psql -At "$URL/bench" -c 'select order_draft from payment_transactions limit 1')
EMAIL=$(psql -At "$URL/bench" -c "select payload from outbox where topic = 'order_confirmation' limit 1")
EVENT=$(psql -At "$URL/bench" -c "select payload from outbox where topic = 'order.created' limit 1")
as_pg "$BIN/pg_ctl -D $WORK/data -m fast stop > /dev/null"

mkdir -p "$WORK/cg" && { [ "$(id -u)" != 0 ] || chown postgres "$WORK/cg"; }
as_pg "cd $WORK/cg && nohup valgrind --tool=callgrind --callgrind-out-file=$WORK/cg/cg.%p --dump-instr=no --collect-jumps=no \
  $BIN/postgres -D $WORK/data $OPTS > $WORK/valgrind.log 2>&1 &"
for _ in $(seq 120); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 1; done

# The instructions of the backend that ran `transactions` transactions of `script` on `url`.
count() {
  local script=$1 url=$2 transactions=$3 before after total=0
  psql -q "$URL/bench" -c checkpoint
  before=$(ls "$WORK/cg")
  pgbench -n -M prepared -c 1 -j 1 -t "$transactions" -f "$script" \
    -D ubase=100000 -D users=1000 -D pbase=1000 -D products=1000 \
    -D "draft=$DRAFT" -D "email_payload=$EMAIL" -D "event_payload=$EVENT" "$url" > "$WORK/pgbench.out" 2>&1 \
    || { cat "$WORK/pgbench.out" >&2; exit 1; }
  grep -q 'number of failed transactions: 0' "$WORK/pgbench.out" || { cat "$WORK/pgbench.out" >&2; exit 1; }
  for _ in $(seq 60); do
    sleep 1
    after=$(comm -13 <(echo "$before" | sort) <(ls "$WORK/cg" | sort))
    [ -n "$after" ] && total=$(cd "$WORK/cg" && cat $after | awk '/^summary:/ { if ($2 > m) m = $2 } END { print m + 0 }')
    [ "$total" -gt 0 ] && break
  done
  echo "$total"
}

per_tx() {
  local a b
  a=$(count "$1" "$2" 30)
  b=$(count "$1" "$2" $((30 + N)))
  echo $(((b - a) / N))
}

today=$(per_tx "$HERE/pg-limit/create.sql" "$URL/bench")
frozen=$(per_tx "$HERE/pg-limit/baseline/create.sql" "$URL/bench?options=-csearch_path%3Dbaseline")
printf '| script | PostgreSQL instructions per transaction |\n|---|---:|\n'
printf '| bench/pg-limit/create.sql | %s |\n| bench/pg-limit/baseline/create.sql | %s |\n' "$today" "$frozen"
awk -v a="$today" -v b="$frozen" 'BEGIN { printf "| ratio | %.2f× |\n", a / b }'
if [ "$CANCEL" = yes ]; then
  printf '| bench/pg-limit/cancel.sql (per cancel; no frozen baseline) | %s |\n' "$(per_tx "$HERE/pg-limit/cancel.sql" "$URL/bench")"
else
  echo "[pg-instructions] no cancel fixtures in $SOURCE (run the bench with --scenarios create,cancel): cancel.sql not counted" >&2
fi
