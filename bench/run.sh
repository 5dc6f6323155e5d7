#!/usr/bin/env bash
# Measures Parley against the bare SSH baseline under the loads of
# docs/performance.md. Each scenario is one parley-load invocation that
# measures the baseline and then Parley, so machine noise cancels in the
# ratio. Every scenario gets a fresh Parley process.
#
#   bench/run.sh [scenario ...]    load1000 load2000 stalled idle ws5000 ssh5000 ws1000 (default: the first five)
#
# ws5000 puts 5,000 WebSocket clients (the browser protocol) in the room
# instead of SSH sessions; its baseline column is the bare SSH server at
# 1,000 sessions, for the machine's noise. ssh5000 is the same crowd as
# terminals, to compare the two transports at one size; its baseline is
# the bare SSH server at 1,000 sessions too. ws1000 is load1000's crowd
# as browsers, against the same baseline as load1000.
#
# Environment: OUT (folder for NAME.txt reports and NAME.json results;
# default a new temporary folder), PORT (Parley's SSH port, default 22290;
# its HTTP side listens on PORT+1 for ws5000), ADMIN_ADDR (Parley's admin
# listener for pprof and metrics; default off),
# LOAD_FLAGS (more parley-load flags for every scenario, e.g.
# "--duration 10s" for a quick check).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-22290}
webport=$((port + 1))
work=$(mktemp -d)
out=${OUT:-$(mktemp -d -t parley-bench.XXXXXX)}
mkdir -p "$out"
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/parley" "$root/cmd/parley"
go build -o "$work/parley-load" "$root/cmd/parley-load"

scenario_args() {
	case $1 in
	load1000) echo --sessions 1000 --connect-rate 50 ;;
	load2000) echo --sessions 2000 --connect-rate 50 ;;
	stalled) echo --sessions 1000 --stalled 20 --connect-rate 50 ;;
	idle) echo --sessions 1000 --idle 60s --connect-rate 50 ;;
	ws5000) echo --sessions 0 --ws 5000 --ws-target "127.0.0.1:$webport" --baseline-sessions 1000 --connect-rate 50 ;;
	ssh5000) echo --sessions 5000 --baseline-sessions 1000 --connect-rate 50 ;;
	ws1000) echo --sessions 0 --ws 1000 --ws-target "127.0.0.1:$webport" --baseline-sessions 1000 --connect-rate 50 ;;
	*)
		echo "unknown scenario $1 (load1000 load2000 stalled idle ws5000 ssh5000 ws1000)" >&2
		return 1
		;;
	esac
}

run() {
	local name=$1 args http="" ready=$port
	args="$(scenario_args "$name") ${LOAD_FLAGS:-}"
	if [[ $name == ws* ]]; then
		http="127.0.0.1:$webport" ready=$webport
	fi
	"$work/parley" --ssh-addr "127.0.0.1:$port" --http-addr "$http" --admin-addr "${ADMIN_ADDR:-}" --hostkey-dir "$work/hostkeys" >"$out/$name.parley.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$ready") 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "== $name ($(uptime))"
	# shellcheck disable=SC2086 # args are flags, split on purpose
	"$work/parley-load" --baseline --target "127.0.0.1:$port" --server-pid "$pid" --json "$out/$name.json" $args | tee "$out/$name.txt"
	kill "$pid"
	wait "$pid" || true
	pid=
}

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
	scenarios=(load1000 load2000 stalled idle ws5000)
fi
for s in "${scenarios[@]}"; do
	run "$s"
done
echo "results in $out"
