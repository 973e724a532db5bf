# Shell helpers the load benchmarks share: `source benches/lib.sh`.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Resident memory of one process, in MiB.
rss() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# Proportional set size of one process, in MiB (shared pages shared out).
pss() { awk '/^Pss:/ {printf "%.0f", $2 / 1024}' "/proc/$1/smaps_rollup"; }

# ensure_tool COMMAND PACKAGE: installs Debian's PACKAGE when COMMAND is
# missing (as root, with apt-get), else says what to install and fails.
ensure_tool() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2" >&2
    apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
  else
    echo "needs $1: apt-get install $2" >&2
    exit 1
  fi
}

# The median of the numbers in $1 (one per round).
median() {
  echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ratio_over_rounds A B [LABEL]: "0.85×LABEL (0.80–0.91)", the median over
# the rounds of A's numbers over B's (both one per round, in round order),
# and their range.
ratio_over_rounds() {
  local ratios
  ratios=$(paste <(echo "$1" | tr ' ' '\n' | grep -v '^$') <(echo "$2" | tr ' ' '\n' | grep -v '^$') |
    awk '{print $1 / $2}' | sort -g)
  awk -v m="$(median "$ratios")" -v label="${3:-}" '{v[NR] = $1} END {
    if (NR > 1) printf "%.2f×%s (%.2f–%.2f)", m, label, v[1], v[NR]; else printf "%.2f×%s", m, label }' <<< "$ratios"
}

# CPU time used so far by process $1 and all its descendants, in clock ticks.
cpu_ticks() {
  local pids=$1 frontier=$1 children
  while [ -n "$frontier" ]; do
    children=$(for p in $frontier; do pgrep -P "$p" || true; done)
    pids="$pids $children"
    frontier=$children
  done
  for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{t += $1} END {print t + 0}'
}
