#!/usr/bin/env bash
# A bounded soak of one site on loopback: normal traffic (wrk) on untouched
# mounts, while guest faults, toggles, reloads, stalled bodies and idle
# sockets hit the others.
#
#   benches/soak.sh [DURATION]     (default 60s; "10m" for the long run)
#
# Prints the requests served, the failures on untouched mounts (must be 0),
# what the hostile side did, and the server's RSS and open file descriptors
# at start (after warm-up) and at the end. Needs wrk and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration=${1:-60s}
case $duration in
  *m) seconds=$(( ${duration%m} * 60 )) ;;
  *s) seconds=${duration%s} ;;
  *) seconds=$duration; duration=${duration}s ;;
esac
command -v wrk >/dev/null || { echo "soak: needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p terrarium
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export TERRARIUM_CACHE_DIR="$repo/target/soak-cache" TERRARIUM_LOG=warn

mkdir -p "$work/static"
echo "User-agent: *" > "$work/static/robots.txt"
cat > "$work/terrarium.toml" <<TOML
[server]
access_log = "access.log"
body_timeout = "2s"

[[mount]]
path = "/hello"
app = "$repo/examples/hello/apps/hello"
instances = 4

[[mount]]
path = "/static"
static = "static"

[[mount]]
path = "/faults"
app = "$repo/tests/apps/faults"
instances = 2
memory = "64MiB"
timeout = "1s"

[[mount]]
path = "/toggled"
app = "$repo/examples/hello/apps/hello"
instances = 1
TOML

./target/release/terrarium serve "$work" --listen 127.0.0.1:0 --admin 127.0.0.1:0 > "$work/out" 2> "$work/err" &
pid=$!
until grep -q "control API on" "$work/out" 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.2
done
url=$(sed -n 's#terrarium: listening on ##p' "$work/out")
admin=$(sed -n 's#terrarium: control API on ##p' "$work/out")

rss() { awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' /proc/$pid/status; }
fds() { ls /proc/$pid/fd | wc -l; }

wrk -t1 -c8 -d3s "$url/hello/" > /dev/null   # warm-up
rss_start=$(rss); fds_start=$(fds)
echo "soak: $duration against $url (control API $admin); RSS $rss_start, $fds_start fds at start" >&2

python3 benches/soak/driver.py "$seconds" "$url" "$admin" > "$work/driver.json" &
driver=$!
# RSS ten times over the run, to tell a plateau from a leak.
( for _ in $(seq 10); do sleep $(( seconds / 10 > 0 ? seconds / 10 : 1 )); rss; echo; done ) > "$work/rss" &
wrk -t2 -c16 -d"$duration" --timeout 5s "$url/hello/" > "$work/wrk"
wait $driver
# Let the hostile sockets' last timeouts pass before the end figures.
sleep 6
rss_end=$(rss); fds_end=$(fds)
kill -TERM $pid; wait $pid || true
# What the untouched mounts answered other than 200, and the server's log about them.
grep -E "access mount=(hello|static) " "$work/access.log" | grep -v " status=200 " | head -20 > "$work/untouched-failures" || true
grep -E "mount=\"?(hello|static)" "$work/err" | grep -v " access " | head -20 >> "$work/untouched-failures" || true

python3 - "$work/wrk" "$work/driver.json" "$rss_start" "$rss_end" "$fds_start" "$fds_end" "$duration" "$work/rss" "$work/untouched-failures" <<'PY'
import json, re, sys
wrk, driver = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
rss_start, rss_end, fds_start, fds_end, duration = sys.argv[3:8]
served = int(re.search(r"(\d+) requests in", wrk).group(1))
non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)) else 0
socket_errors = sum(map(int, m.groups())) if (m := re.search(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk)) else 0
failures = non_2xx + socket_errors + len(driver["untouched_failures"])
print(f"| soak {duration} | |")
print("|---|---|")
print(f"| untouched requests (wrk on /hello, checks on /static) | {served + driver['untouched_checks']:,} |")
print(f"| failures on untouched mounts | {failures} |")
print(f"| guest faults sent | {sum(driver['faults'].values()):,} |")
print(f"| toggles / reloads (ok, failed) | {driver['toggles']} / {driver['reloads']['ok']}, {driver['reloads']['failed']} |")
print(f"| stalled bodies / rounds of 100 idle sockets | {driver['stalled_bodies']} / {driver['idle_sockets']} |")
print(f"| RSS start → end | {rss_start} → {rss_end} |")
series = [line.strip() for line in open(sys.argv[8]) if line.strip()]
print(f"| RSS through the run | {', '.join(s.replace(' MiB', '') for s in series)} (MiB) |")
print(f"| open fds start → end | {fds_start} → {fds_end} |")
for line in wrk.splitlines():
    if "Socket errors" in line or "Non-2xx" in line:
        print("wrk:", line.strip())
failing = open(sys.argv[9]).read().strip()
if failing:
    print("untouched mounts, from the access log and the server's log:", failing, sep="\n")
if driver["untouched_failures"]:
    print("untouched failures:", *driver["untouched_failures"], sep="\n  ")
print("fault answers:", json.dumps(driver["faults"], sort_keys=True))
sys.exit(1 if failures else 0)
PY
