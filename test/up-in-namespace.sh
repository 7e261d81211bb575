#!/usr/bin/env bash
# Runs `isla up` inside a network namespace this script creates and removes,
# then drives it from the kernel side: ping, a fragmented ping, UDP echo.
# Usage: bash test/up-in-namespace.sh [--keep]   (--keep: stay up until Ctrl-C)
# Needs root. Every command is bounded; the namespace is deleted on any exit.
set -u
cd "$(dirname "$0")/.."
ns="isla-try-$$"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "needs root (it creates a network namespace and a TAP)" >&2; exit 1; }
[ -f dist/isla.mjs ] || npm run build >/dev/null
ip netns add "$ns"
out=$(mktemp)
ip netns exec "$ns" node dist/isla.mjs up --tap isla0 --ip 192.168.1.2/24 --host-ip 192.168.1.1/24 >"$out" &
pid=$!
for _ in $(seq 1 150); do grep -q '^ready ' "$out" && break; sleep 0.1; done
grep '^ready ' "$out" || { echo "isla did not become ready" >&2; exit 1; }
echo "--- ping 192.168.1.2 from the kernel (namespace $ns)"
timeout 10 ip netns exec "$ns" ping -c 3 -i 0.2 192.168.1.2
echo "--- ping -s 4000 (fragmented both ways)"
timeout 10 ip netns exec "$ns" ping -c 2 -i 0.2 -s 4000 192.168.1.2
echo "--- UDP echo (port 7)"
echo "hello, isla" | timeout 5 ip netns exec "$ns" nc -u -w1 192.168.1.2 7
if [ "$keep" = 1 ]; then
  echo "--- isla is up in namespace $ns; try: ip netns exec $ns ping 192.168.1.2   (Ctrl-C to stop)"
  wait "$pid"
fi
