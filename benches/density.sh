#!/usr/bin/env bash
# Many *different* apps on one host: what each one costs on disk, in
# memory and in build time, on shared interpreters (`snapshot = "shared"`).
#
#   benches/density.sh [HELLO_COUNT] [FLASK_COUNT]      (default: 1000 100)
#   SNAPSHOT=app benches/density.sh 10 3                (each app its own snapshot, to compare)
#
# Two sites: HELLO_COUNT hello apps and FLASK_COUNT Flask apps, every app
# different (its own constant in its code), each mounted at /aN with
# default settings (scaled to zero: no instance until its first request).
# Per site, from an empty build cache:
# - the cold build of the first app, and of all the others (`terrarium build`);
# - the cache's size after the first app and after all of them;
# - the time from `serve` to listening, RSS and PSS idle;
# - the first request to every app (none has an instance before it): p50, p99;
# - RSS and PSS after one request to every app.
# The report also goes to target/bench-density.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
hello_count=${1:-1000}
flask_count=${2:-100}
snapshot=${SNAPSHOT:-shared}
report=$repo/target/bench-density.md

say() { echo "density: $*" >&2; }

# A live instance holds eight open files, and the default budget keeps to
# the open-file limit (less max_connections): raise it where this process
# may (as a host of tenants would, LimitNOFILE=); the report gives it.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 65536 ]; then ulimit -Hn 65536 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)"

say "building terrarium (release)"
cargo build --release -q -p terrarium
terrarium=$repo/target/release/terrarium
export TERRARIUM_LOG=warn
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/lib.sh
source benches/lib.sh
now_ms() { date +%s%3N; }
mib() { du -sb "$1" | awk '{printf "%.1f", $1 / 1048576}'; }

# write_app KIND INDEX DIR: a hello or Flask app that differs from the others by INDEX.
write_app() {
  mkdir -p "$3"
  case $1 in
    hello)
      cat > "$3/app.py" <<EOF
from terrarium import App

VARIANT = $2
app = App()


@app.get("/")
def index(req, res):
    res.send_text(f"Hello from app {VARIANT}\n")
EOF
      ;;
    flask)
      echo "flask" > "$3/requirements.txt"
      cat > "$3/app.py" <<EOF
from flask import Flask

VARIANT = $2
app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from Flask app {VARIANT}\n"
EOF
      ;;
  esac
}

# write_site DIR KIND COUNT: a site of COUNT different apps of KIND.
write_site() {
  mkdir -p "$1"
  {
    echo '[server]'
    echo 'admin = "off"'
    echo 'access_log = "off"'
  } > "$1/terrarium.toml"
  for ((i = 0; i < $3; i++)); do
    write_app "$2" "$i" "$1/apps/a$i"
    printf '\n[[mount]]\npath = "/a%s"\napp = "apps/a%s"\nsnapshot = "%s"\n' "$i" "$i" "$snapshot" >> "$1/terrarium.toml"
  done
}

rows=()
measure() {
  local kind=$1 count=$2
  [ "$count" -gt 0 ] || return 0
  local site=$work/$kind cache=$work/$kind-cache
  say "$kind: $count different apps ($snapshot snapshots)"
  write_site "$work/$kind-first" "$kind" 1
  local started first_ms rest_ms
  started=$(now_ms)
  "$terrarium" build "$work/$kind-first" --cache-dir "$cache" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
  first_ms=$(($(now_ms) - started))
  local first_mib
  first_mib=$(mib "$cache")
  write_site "$site" "$kind" "$count"
  say "$kind: building the other $((count - 1))"
  started=$(now_ms)
  "$terrarium" build "$site" --cache-dir "$cache" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
  rest_ms=$(($(now_ms) - started))
  local all_mib per_app_ms per_app_mib
  all_mib=$(mib "$cache")
  per_app_ms=$(awk -v t="$rest_ms" -v n="$count" 'BEGIN { printf "%.0f", (n > 1 ? t / (n - 1) : 0) }')
  per_app_mib=$(awk -v a="$all_mib" -v f="$first_mib" -v n="$count" 'BEGIN { printf "%.2f", (n > 1 ? (a - f) / (n - 1) : 0) }')

  local port listening_ms idle_rss idle_pss first_p50 first_p99 used_rss used_pss per_app_pss
  port=$(free_port)
  started=$(now_ms)
  "$terrarium" serve "$site" --cache-dir "$cache" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
  server_pid=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.02
  done
  listening_ms=$(($(now_ms) - started))
  sleep 2
  idle_rss=$(rss "$server_pid")
  idle_pss=$(pss "$server_pid")
  say "$kind: one request to each app"
  read -r first_p50 first_p99 < <(python3 benches/many_apps.py "$port" "$count")
  used_rss=$(rss "$server_pid")
  used_pss=$(pss "$server_pid")
  per_app_pss=$(awk -v u="$used_pss" -v i="$idle_pss" -v n="$count" 'BEGIN { printf "%.2f", (u - i) / n }')
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  rows+=("| $count $kind ($snapshot) | $first_ms / $per_app_ms | $first_mib / $per_app_mib | $listening_ms | $idle_rss ($idle_pss) | $first_p50 / $first_p99 | $used_rss ($used_pss) | $per_app_pss |")
}

measure hello "$hello_count"
measure flask "$flask_count"

# Proactive reclaim (DAMON's kdamond with a pageout scheme, as some VMs
# run) unmaps and drops pages that look cold: then first requests read the
# apps' files and the layer's pages back, and the p99 shows it.
damon=off
for state in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
  [ "$(cat "$state" 2>/dev/null)" = on ] && damon=on
done

{
  echo "Host: $(nproc) cores; proactive reclaim (DAMON kdamond): $damon; open-file limit: $(ulimit -n)"
  echo
  echo "| apps | cold build: first / each other, ms | cache: first / each other, MiB | start to listening, ms | idle RSS (PSS), MiB | first request p50 / p99, ms | after one request each, RSS (PSS), MiB | PSS per app after its request, MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$report"
