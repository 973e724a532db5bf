#!/usr/bin/env bash
# The cost of an outbound HTTPS request from the sandbox (TLS by the host)
# against the same Python code in native CPython, to a native HTTPS server
# on loopback with a certificate from a CA made here.
#   benches/outbound-https.sh [REQUESTS]
# Needs openssl and python3. Builds terrarium in release mode first.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-300}
cargo build --release -q
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
bench=benches/apps/outbound_https

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > "$work/san"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/san" -out "$work/server.pem" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$bench/backend.py" "$port" "$work/server.pem" "$work/server.key" &
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do sleep 0.1; done
url="https://localhost:$port/"

python3 "$bench/fetch.py" "$url" 20 "$work/ca.pem" > /dev/null   # warm-up
native=$(python3 "$bench/fetch.py" "$url" "$count" "$work/ca.pem")

mkdir -p "$work/site"
cp "$work/ca.pem" "$work/site/ca.pem"
cat > "$work/site/terrarium.toml" <<TOML
[server]
access_log = "off"

[[mount]]
path = "/"
app = "$PWD/$bench"
entry = "app:app"
instances = 1
timeout = "120s"
outbound = ["localhost:$port"]
outbound_ca = "ca.pem"
TOML
export TERRARIUM_CACHE_DIR="$PWD/examples/hello/.terrarium/cache" TERRARIUM_LOG=warn
./target/release/terrarium serve "$work/site" --listen 127.0.0.1:0 > "$work/out" &
pid=$!
until grep -q listening "$work/out" 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "outbound-https: the server did not start" >&2; exit 1; }
  sleep 0.1
done
site=$(sed -n 's#terrarium: listening on ##p' "$work/out")
encoded=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$url")
curl -fsS "$site/measure?url=$encoded&count=20" > /dev/null   # warm-up
sandbox=$(curl -fsS "$site/measure?url=$encoded&count=$count")

python3 - "$native" "$sandbox" <<'PY'
import json, sys
native, sandbox = (json.loads(text) for text in sys.argv[1:])
print(f"{'ms per request':<34}{'native CPython':>15}{'sandbox':>10}{'added':>9}")
for key, label in (("new_ms", "new connection (TCP + TLS)"), ("reused_ms", "kept-alive connection")):
    print(f"{label:<34}{native[key]:>15.3f}{sandbox[key]:>10.3f}{sandbox[key] - native[key]:>+9.3f}")
PY
