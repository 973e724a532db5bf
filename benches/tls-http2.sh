#!/usr/bin/env bash
# HTTPS and HTTP/2 on the front door, against granian with TLS, in one run.
#
#   benches/tls-http2.sh [DURATION] [CONNECTIONS] [ROUNDS]   (defaults: 10s, 64, 3)
#   PIN=1 benches/tls-http2.sh ...   the client on a core of its own
#   STREAMS=8 benches/tls-http2.sh ... streams per connection in the multiplexed rows
#
# The same raw WSGI hello (benches/apps/raw_hello), served by Terrarium
# (pooled, a worker per core) and by granian (a worker per core), driven by
# h2load (Debian's nghttp2-client; installed here when missing, as root)
# with 2 threads and CONNECTIONS connections, one stream at a time each
# (with PIN=1: the servers on every core but the last, h2load with one
# thread on the last, so the client's own HTTP/2 work, which costs it more
# than HTTP/1.1, does not take CPU from the server it measures):
#
# - Terrarium: HTTP/1.1 and HTTP/2 by prior knowledge (h2c) on the plain
#   listener; HTTP/1.1 and HTTP/2 (ALPN) over TLS 1.3, keep-alive; full
#   TLS handshakes per second (a new connection, and one request, each);
# - granian --http auto with TLS: the same three TLS rows; and plain
#   HTTP/1.1 for reference;
# - HTTP/2 as browsers and proxies use it, multiplexed: the same number of
#   requests in flight (CONNECTIONS) on CONNECTIONS / STREAMS connections
#   of STREAMS concurrent streams each (h2c and HTTPS; granian HTTPS).
#
# Each server runs every case once per round, ROUNDS rounds, so HTTP/2 and
# HTTP/1.1 are compared within a round (this machine's speed drifts from
# minute to minute). Beside requests/s each row gives the server's CPU time
# per request (all its processes, from /proc): what a protocol costs the
# server, less disturbed by the client sharing the cores.
#
# A self-signed certificate is made with openssl. The report (medians over
# the rounds, and the ratios) is printed and written to
# target/bench-tls/report.md. Figures go in notes, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration=${1:-10s}
connections=${2:-64}
rounds=${3:-3}
streams=${STREAMS:-8}
muxed=$(( connections / streams > 0 ? connections / streams : 1 ))
seconds=${duration%s}
cores=$(nproc)
server_cores=$cores client_threads=2 on_server=() on_client=()
if [ "${PIN:-0}" = 1 ] && [ "$cores" -ge 2 ]; then
  server_cores=$((cores - 1)) client_threads=1
  on_server=(taskset -c "0-$((cores - 2))") on_client=(taskset -c "$((cores - 1))")
fi
out=$repo/target/bench-tls
work=$(mktemp -d)
mkdir -p "$out"
source benches/lib.sh

say() { echo "tls-http2: $*" >&2; }

ensure_tool h2load nghttp2-client

say "building terrarium (release)"
cargo build --release -q -p terrarium
terrarium=$repo/target/release/terrarium
venv=$repo/target/bench-peers/venv
if [ ! -x "$venv/bin/granian" ]; then
  say "installing granian into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r benches/peers/requirements.txt
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

app=$repo/benches/apps/raw_hello
plain_port=$(free_port)
tls_port=$(free_port)
mkdir -p "$work/site"
cat > "$work/site/terrarium.toml" <<TOML
[server]
admin = "off"
access_log = "off"
tls_listen = "127.0.0.1:$tls_port"

[[mount]]
path = "/"
app = "$app"
instances = $((server_cores * 2))
min_instances = $((server_cores * 2))
warm_up = ["/"]

[[tls]]
cert = "$work/cert.pem"
key = "$work/key.pem"
TOML

server_pid=
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for_port() {
  for _ in $(seq 600); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  exit 1
}

declare -A rps cpu_us mean_time failed
cases=()
# load NAME URL [H2LOAD OPTIONS...]: a warm-up, then DURATION of load
# against the server running as $server_pid; adds this round's figures.
load() {
  local name=$1 url=$2
  shift 2
  say "$name (round $round)"
  "${on_client[@]}" h2load -t"$client_threads" -c"$connections" -D 3 "$@" "$url" > /dev/null
  local before after done_requests
  before=$(cpu_ticks "$server_pid")
  "${on_client[@]}" h2load -t"$client_threads" -c"$connections" -D "$seconds" "$@" "$url" > "$work/run.txt"
  after=$(cpu_ticks "$server_pid")
  done_requests=$(awk '/^requests:/ {print $8}' "$work/run.txt")
  [ -n "${rps[$name]:-}" ] || cases+=("$name")
  rps[$name]+=" $(awk '/^finished in/ {gsub(",", "", $4); printf "%.0f", $4}' "$work/run.txt")"
  cpu_us[$name]+=" $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$done_requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
  mean_time[$name]+=" $(awk '/^time for request:/ {
    v = $6 + 0; if ($6 ~ /us$/) v /= 1000; else if ($6 !~ /ms$/) v *= 1000; printf "%.2f", v}' "$work/run.txt")"
  failed[$name]=$(( ${failed[$name]:-0} + $(awk '/^requests:/ {print $10 + $12}' "$work/run.txt") ))
}

# handshakes NAME URL [H2LOAD OPTIONS...]: new TLS connections, one request
# each, for DURATION (rounds of 4 x CONNECTIONS connections).
handshakes() {
  local name=$1 url=$2
  shift 2
  say "$name (round $round)"
  local total=0 done_requests started
  started=$(date +%s.%N)
  while awk -v s="$started" -v now="$(date +%s.%N)" -v d="$seconds" 'BEGIN {exit !(now - s < d)}'; do
    "${on_client[@]}" h2load -t"$client_threads" -c$((connections * 4)) -n$((connections * 4)) "$@" "$url" > "$work/run.txt"
    done_requests=$(awk '/^requests:/ {print $8}' "$work/run.txt")
    total=$((total + done_requests))
  done
  [ -n "${rps[$name]:-}" ] || cases+=("$name")
  rps[$name]+=" $(awk -v n="$total" -v s="$started" -v now="$(date +%s.%N)" 'BEGIN {printf "%.0f", n / (now - s)}')"
}

# serve NAME COMMAND...: starts a server in the background as $server_pid.
serve() {
  local log=$work/$1.log
  shift
  "${on_server[@]}" "$@" > "$log" 2>&1 &
  server_pid=$!
}

stop() { kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

"$terrarium" build "$work/site" --cache-dir "$out/cache" >&2
for round in $(seq "$rounds"); do
  serve terrarium "$terrarium" serve "$work/site" --cache-dir "$out/cache" --listen "127.0.0.1:$plain_port"
  wait_for_port "$plain_port"
  wait_for_port "$tls_port"
  load "terrarium HTTP/1.1" "http://127.0.0.1:$plain_port/" --h1
  load "terrarium HTTP/2 (h2c)" "http://127.0.0.1:$plain_port/"
  load "terrarium HTTPS HTTP/1.1" "https://localhost:$tls_port/" --h1
  load "terrarium HTTPS HTTP/2" "https://localhost:$tls_port/"
  load "terrarium HTTP/2 (h2c), multiplexed" "http://127.0.0.1:$plain_port/" -c"$muxed" -m"$streams"
  load "terrarium HTTPS HTTP/2, multiplexed" "https://localhost:$tls_port/" -c"$muxed" -m"$streams"
  handshakes "terrarium TLS handshakes/s" "https://localhost:$tls_port/" --h1
  stop

  port=$(free_port)
  serve granian "$venv/bin/granian" --interface wsgi --workers "$server_cores" --host 127.0.0.1 --port "$port" \
    --working-dir "$app" app:app
  wait_for_port "$port"
  load "granian HTTP/1.1" "http://127.0.0.1:$port/" --h1
  stop

  port=$(free_port)
  serve granian-tls "$venv/bin/granian" --interface wsgi --workers "$server_cores" --host 127.0.0.1 --port "$port" --http auto \
    --ssl-certificate "$work/cert.pem" --ssl-keyfile "$work/key.pem" \
    --working-dir "$app" app:app
  wait_for_port "$port"
  load "granian HTTPS HTTP/1.1" "https://localhost:$port/" --h1
  load "granian HTTPS HTTP/2" "https://localhost:$port/"
  load "granian HTTPS HTTP/2, multiplexed" "https://localhost:$port/" -c"$muxed" -m"$streams"
  handshakes "granian TLS handshakes/s" "https://localhost:$port/" --h1
  stop
done

# against A B: A's requests/s and CPU per request over B's, rounds' medians.
against() {
  echo "| $1 against $2 | $(ratio_over_rounds "${rps[$1]}" "${rps[$2]}") | $(ratio_over_rounds "${cpu_us[$1]}" "${cpu_us[$2]}") |"
}

{
  echo "# HTTPS and HTTP/2: raw WSGI hello, servers on $server_cores of $cores cores, h2load -t$client_threads -c$connections${on_client[*]:+ (${on_client[*]})} (multiplexed: -c$muxed -m$streams), $duration, medians of $rounds rounds"
  echo
  echo "| case | requests/s | server CPU per request (µs) | mean time per request (ms) | failed |"
  echo "| --- | --- | --- | --- | --- |"
  for name in "${cases[@]}"; do
    if [ -n "${cpu_us[$name]:-}" ]; then
      echo "| $name | $(median "${rps[$name]}") | $(median "${cpu_us[$name]}") | $(median "${mean_time[$name]}") | ${failed[$name]} |"
    else
      echo "| $name | $(median "${rps[$name]}") | - | - | - |"
    fi
  done
  echo
  echo "| ratio (per round; median and range) | requests/s | CPU per request |"
  echo "| --- | --- | --- |"
  against "terrarium HTTP/2 (h2c)" "terrarium HTTP/1.1"
  against "terrarium HTTPS HTTP/2" "terrarium HTTPS HTTP/1.1"
  against "terrarium HTTP/2 (h2c), multiplexed" "terrarium HTTP/1.1"
  against "terrarium HTTPS HTTP/2, multiplexed" "terrarium HTTPS HTTP/1.1"
  against "terrarium HTTPS HTTP/1.1" "terrarium HTTP/1.1"
  against "granian HTTPS HTTP/2" "granian HTTPS HTTP/1.1"
  against "granian HTTPS HTTP/2, multiplexed" "granian HTTPS HTTP/1.1"
  against "granian HTTPS HTTP/1.1" "granian HTTP/1.1"
} | tee "$out/report.md"
