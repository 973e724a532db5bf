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
