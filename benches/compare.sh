#!/usr/bin/env bash
# Terrarium against the peer Python servers, on this machine, in one run.
#
#   benches/compare.sh [DURATION] [CONNECTIONS] [ROUNDS]    (defaults: 10s, 64, 3)
#
# - builds Terrarium (release) and the benchmark apps (benches/apps/);
# - installs the peers (benches/peers/requirements.txt: granian, gunicorn,
#   Flask) into a private virtualenv under target/bench-peers/venv, from PyPI;
# - drives every server, one after the other, with the same wrk settings
#   (2 threads, CONNECTIONS connections, DURATION, after a 3 s warm-up);
#   each peer gets as many worker processes as there are cores; Terrarium, one
#   process, runs a worker thread per core (server.workers = "auto") and pools
#   of 2 instances per core, split between the workers (an instance is not a
#   worker: a worker runs one guest at a time, and its spare instance covers
#   the hand-over between the network and the sandbox);
# - repeats that ROUNDS times, every server once per round, so a Terrarium row
#   and its peer are always measured minutes apart at most (a VM's speed
#   drifts by tens of percent over a quarter of an hour);
# - prints one table (medians over the rounds: requests/s, p50, p99, RSS of
#   the server's processes; each Terrarium row's ratio to its peer as the
#   median of the rounds' ratios, with their range), then start-up and idle-memory
#   figures; the same report is written to target/bench-peers/report.md.
#
# Needs wrk (apt-get install wrk; installed here when missing and run as root),
# python3 with venv, and network access to PyPI on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration=${1:-10s}
connections=${2:-64}
rounds=${3:-3}
cores=$(nproc)
out=$repo/target/bench-peers
mkdir -p "$out"
report=$out/report.md

say() { echo "compare: $*" >&2; }

say "building terrarium (release)"
cargo build --release -q -p terrarium
terrarium=$repo/target/release/terrarium

venv=$out/venv
if [ ! -f "$venv/installed" ] || ! cmp -s benches/peers/requirements.txt "$venv/installed"; then
  say "installing the peers into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r benches/peers/requirements.txt
  cp benches/peers/requirements.txt "$venv/installed"
fi

export TERRARIUM_CACHE_DIR=$out/cache TERRARIUM_LOG=warn
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=benches/lib.sh
source benches/lib.sh
ensure_tool wrk wrk

wait_for_port() {
  local port=$1 deadline=$((SECONDS + 600))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "the server exited before listening" >&2
      exit 1
    fi
    [ $SECONDS -lt $deadline ] || { echo "the server did not listen on $port" >&2; exit 1; }
    sleep 0.05
  done
}

# Resident memory of a process and all its descendants, in MiB.
rss_tree() {
  local pids=$1 all=$1 next
  while [ -n "$pids" ]; do
    next=$(for pid in $pids; do pgrep -P "$pid" || true; done | xargs)
    all="$all $next"
    pids=$next
  done
  for pid in $all; do awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true; done |
    awk '{kb += $1} END {printf "%.0f", kb / 1024}'
}


# The status of a GET to URL (its body is read and dropped).
get_status() { python3 -c "import urllib.request,sys; r = urllib.request.urlopen(sys.argv[1]); r.read(); print(r.status)" "$1"; }

# wrk's latency ("812.00us", "5.06ms", "1.20s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}

terrarium_site() { # NAME APP_DIR ISOLATION -> a site folder
  local site=$work/$1
  mkdir -p "$site"
  cat > "$site/terrarium.toml" <<TOML
[server]
admin = "off"

[[mount]]
path = "/"
app = "$2"
isolation = "$3"
instances = $((cores * 2))
warm_up = ["/"]
TOML
  echo "$site"
}

declare -A rps p50 p99 rss
rows=()

# measure NAME PORT COMMAND... : start, warm up, load, record, stop.
measure() {
  local name=$1 port=$2
  shift 2
  say "$name"
  "$@" > "$work/$name.log" 2>&1 &
  server_pid=$!
  wait_for_port "$port"
  local url="http://127.0.0.1:$port/"
  local status
  status=$(get_status "$url")
  [ "$status" = 200 ] || { echo "$name answered $status" >&2; exit 1; }
  wrk -t2 -c"$connections" -d3s "$url" > /dev/null
  wrk -t2 -c"$connections" -d"$duration" --latency "$url" > "$work/$name.wrk"
  rss[$name]+=" $(rss_tree "$server_pid")"
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  if grep -qE "Non-2xx|Socket errors" "$work/$name.wrk"; then
    say "$name had errors:"
    grep -E "Non-2xx|Socket errors" "$work/$name.wrk" >&2
  fi
  rps[$name]+=" $(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$work/$name.wrk")"
  p50[$name]+=" $(to_ms "$(awk '$1 == "50%" {print $2}' "$work/$name.wrk")")"
  p99[$name]+=" $(to_ms "$(awk '$1 == "99%" {print $2}' "$work/$name.wrk")")"
  [ "$round" != 1 ] || rows+=("$name")
}

hello_app=$repo/examples/hello/apps/hello
flask_app=$repo/benches/apps/flask_hello
raw_app=$repo/benches/apps/raw_hello
asgi_app=$repo/benches/apps/asgi_hello

say "building the Terrarium apps (cached after the first run)"
"$terrarium" build "$(terrarium_site build-hello "$hello_app" pooled)" >&2
"$terrarium" build "$(terrarium_site build-flask "$flask_app" pooled)" >&2
"$terrarium" build "$(terrarium_site build-raw "$raw_app" pooled)" >&2
"$terrarium" build "$(terrarium_site build-asgi "$asgi_app" pooled)" >&2

# terrarium_case NAME APP_DIR: the app in both isolation modes.
terrarium_case() {
  local isolation port
  for isolation in pooled request; do
    port=$(free_port)
    measure "terrarium $1 $isolation" "$port" \
      "$terrarium" serve "$(terrarium_site "$1-$isolation" "$2" "$isolation")" --listen "127.0.0.1:$port"
  done
}

# granian_case NAME APP_DIR [INTERFACE]: granian with one worker per core,
# serving the app as WSGI (or INTERFACE: asgi).
granian_case() {
  local port
  port=$(free_port)
  measure "$1" "$port" \
    "$venv/bin/granian" --interface "${3:-wsgi}" --workers "$cores" --host 127.0.0.1 --port "$port" \
    --working-dir "$2" app:app
}

for round in $(seq "$rounds"); do
  say "round $round of $rounds"
  terrarium_case hello "$hello_app"
  # The very app granian serves below, through Terrarium's WSGI bridge.
  port=$(free_port)
  measure "terrarium raw pooled" "$port" \
    "$terrarium" serve "$(terrarium_site raw-pooled "$raw_app" pooled)" --listen "127.0.0.1:$port"
  granian_case "granian raw WSGI" "$raw_app"
  # The same hello as ASGI 3, through Terrarium's ASGI adapter and granian's.
  port=$(free_port)
  measure "terrarium asgi pooled" "$port" \
    "$terrarium" serve "$(terrarium_site asgi-pooled "$asgi_app" pooled)" --listen "127.0.0.1:$port"
  granian_case "granian raw ASGI" "$asgi_app" asgi
  terrarium_case flask "$flask_app"
  granian_case "granian flask" "$flask_app"
  port=$(free_port)
  measure "gunicorn flask" "$port" \
    "$venv/bin/gunicorn" --workers "$cores" --bind "127.0.0.1:$port" --chdir "$flask_app" app:app
done

# "0.85× granian flask (0.80–0.91)": the median over the rounds of the first
# row's requests/s over the second's, measured in the same round, and their range.
vs() { ratio_over_rounds "${rps[$1]}" "${rps[$2]}" " $2"; }

# Start-up and memory.
say "start-up from a warm cache"
port=$(free_port)
warm_start=$(python3 benches/first_response.py "http://127.0.0.1:$port/" -- \
  "$terrarium" serve "$work/hello-pooled" --listen "127.0.0.1:$port")
say "first response after a cold build (empty cache)"
port=$(free_port)
cold_start=$(TERRARIUM_CACHE_DIR=$work/cold-cache python3 benches/first_response.py "http://127.0.0.1:$port/" -- \
  "$terrarium" serve "$work/hello-pooled" --listen "127.0.0.1:$port")

say "time to the first byte of a streamed response (ten parts 50 ms apart)"
port=$(free_port)
"$terrarium" serve "$work/asgi-pooled" --listen "127.0.0.1:$port" > "$work/stream.log" 2>&1 &
server_pid=$!
wait_for_port "$port"
read -r stream_p50 stream_p99 < <(python3 benches/first_byte.py "http://127.0.0.1:$port/stream" 50)
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

say "100 idle mounted apps"
site=$work/idle-100
mkdir -p "$site"
{
  echo '[server]'
  echo 'admin = "off"'
  for i in $(seq -w 0 99); do
    printf '\n[[mount]]\npath = "/app%s"\napp = "%s"\n' "$i" "$hello_app"
  done
} > "$site/terrarium.toml"
"$terrarium" build "$site" >&2 # idle memory of a server, not of a build
port=$(free_port)
"$terrarium" serve "$site" --listen "127.0.0.1:$port" > "$work/idle.log" 2>&1 &
server_pid=$!
wait_for_port "$port"
sleep 1
idle_rss=$(rss_tree "$server_pid")
idle_pss=$(pss "$server_pid")
for i in $(seq -w 0 99); do
  get_status "http://127.0.0.1:$port/app$i/" > /dev/null
done
sleep 1
used_rss=$(rss_tree "$server_pid")
used_pss=$(pss "$server_pid")
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

{
  echo "Terrarium against its peers: $(date -u +%Y-%m-%d), $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $cores cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "wrk -t2 -c$connections -d$duration --latency, after a 3 s warm-up; peers: $cores workers; Terrarium: $((cores * 2)) instances; medians of $rounds rounds"
  echo
  echo "| server | requests/s | p50 ms | p99 ms | RSS MiB | ratio |"
  echo "|---|---:|---:|---:|---:|---|"
  for name in "${rows[@]}"; do
    case $name in
      "terrarium hello "* | "terrarium raw "*) note=$(vs "$name" "granian raw WSGI") ;;
      "terrarium asgi "*) note="$(vs "$name" "granian raw ASGI"), $(vs "$name" "terrarium raw pooled")" ;;
      "terrarium flask "*) note="$(vs "$name" "granian flask"), $(vs "$name" "gunicorn flask")" ;;
      *) note="" ;;
    esac
    echo "| $name | $(median "${rps[$name]}") | $(median "${p50[$name]}") | $(median "${p99[$name]}") | $(median "${rss[$name]}") | $note |"
  done
  echo
  echo "| start-up and memory | measured |"
  echo "|---|---:|"
  echo "| start from a warm build cache to the first response (hello) | $(awk -v s="$warm_start" 'BEGIN {printf "%.1f ms", s * 1000}') |"
  echo "| first response after a cold build (hello, empty cache) | $(awk -v s="$cold_start" 'BEGIN {printf "%.1f s", s}') |"
  echo "| first byte of a streamed response (ASGI, parts 50 ms apart), p50 / p99 | $stream_p50 ms / $stream_p99 ms |"
  echo "| 100 idle mounted apps (hello ×100, default settings: none made until asked), RSS (PSS) | $idle_rss MiB ($idle_pss MiB) |"
  echo "| the same 100 apps after one request each, RSS (PSS) | $used_rss MiB ($used_pss MiB) |"
} | tee "$report"
