#!/usr/bin/env bash
# Measures Parley against the bare SSH baseline under the loads of
# docs/performance.md. Each scenario is one parley-load invocation that
# measures the baseline and then Parley, so machine noise cancels in the
# ratio. Every scenario gets a fresh Parley process.
#
#   bench/run.sh [scenario ...]    load1000 load2000 stalled idle ws5000 ssh5000 ws1000 cluster3 (default: the first five)
#
# ws5000 puts 5,000 WebSocket clients (the browser protocol) in the room
# instead of SSH sessions; its baseline column is the bare SSH server at
# 1,000 sessions, for the machine's noise. ssh5000 is the same crowd as
# terminals, to compare the two transports at one size; its baseline is
# the bare SSH server at 1,000 sessions too. ws1000 is load1000's crowd
# as browsers, against the same baseline as load1000.
#
# cluster3 measures one Parley node with 1,000 sessions, then three nodes
# (each with its NATS server inside, JetStream replicas 3, all on
# loopback, as in the README) with 1,000 sessions dealt to them in turn,
# and compares the two; NATS's monitoring counts the messages each node
# received. Its ports are PORT+1 to PORT+3 (SSH), PORT+11 to PORT+13 (NATS
# clients), PORT+21 to PORT+23 (NATS routes), PORT+31 to PORT+33 (NATS
# monitoring).
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
pids=()
stop_servers() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	pids=()
}
cleanup() {
	stop_servers
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
	cluster3) echo --sessions 1000 --connect-rate 50 ;;
	*)
		echo "unknown scenario $1 (load1000 load2000 stalled idle ws5000 ssh5000 ws1000 cluster3)" >&2
		return 1
		;;
	esac
}

# wait_port waits up to 30 s for a loopback port to accept connections.
wait_port() {
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

run() {
	local name=$1 args http="" ready=$port
	args="$(scenario_args "$name") ${LOAD_FLAGS:-}"
	if [[ $name == cluster3 ]]; then
		run_cluster3 "$args"
		return
	fi
	if [[ $name == ws* ]]; then
		http="127.0.0.1:$webport" ready=$webport
	fi
	"$work/parley" --ssh-addr "127.0.0.1:$port" --http-addr "$http" --admin-addr "${ADMIN_ADDR:-}" --hostkey-dir "$work/hostkeys" >"$out/$name.parley.log" 2>&1 &
	pids=($!)
	wait_port "$ready"
	echo "== $name ($(uptime))"
	# shellcheck disable=SC2086 # args are flags, split on purpose
	"$work/parley-load" --baseline --target "127.0.0.1:$port" --server-pid "${pids[0]}" --json "$out/$name.json" $args | tee "$out/$name.txt"
	stop_servers
}

# cluster_config writes node n's configuration: the README's three nodes
# on one machine, with ports from PORT and NATS monitoring on.
cluster_config() {
	local n=$1 m routes=()
	for m in 1 2 3; do
		if [[ $m != "$n" ]]; then
			routes+=("\"nats-route://127.0.0.1:$((port + 20 + m))\"")
		fi
	done
	local IFS=,
	cat <<-EOF
		[server]
		ssh_addr = "127.0.0.1:$((port + n))"
		http_addr = ""
		hostkey_dir = "$work/hostkeys"
		[admin]
		addr = ""
		[cluster]
		node = "node$n"
		embed = true
		replicas = 3
		listen = "127.0.0.1:$((port + 10 + n))"
		cluster_listen = "127.0.0.1:$((port + 20 + n))"
		routes = [${routes[*]}]
		data_dir = "$work/nats-node$n"
		monitor_listen = "127.0.0.1:$((port + 30 + n))"
	EOF
}

# run_cluster3 measures one node, then three, with the same load, and
# compares them.
run_cluster3() {
	local args=$1 n targets=() monitors=() pidlist
	"$work/parley" --ssh-addr "127.0.0.1:$port" --http-addr "" --admin-addr "" --hostkey-dir "$work/hostkeys" >"$out/cluster3.single.log" 2>&1 &
	pids=($!)
	wait_port "$port"
	echo "== cluster3: one node ($(uptime))"
	# shellcheck disable=SC2086 # args are flags, split on purpose
	"$work/parley-load" --label "one node" --target "127.0.0.1:$port" --server-pid "${pids[0]}" --json "$out/cluster3.single.json" $args | tee "$out/cluster3.single.txt"
	stop_servers

	for n in 1 2 3; do
		cluster_config "$n" >"$work/node$n.toml"
		"$work/parley" --config "$work/node$n.toml" >"$out/cluster3.node$n.log" 2>&1 &
		pids+=($!)
		targets+=("127.0.0.1:$((port + n))")
		monitors+=("127.0.0.1:$((port + 30 + n))")
	done
	for n in 1 2 3; do
		wait_port "$((port + n))"
	done
	pidlist=$(IFS=,; echo "${pids[*]}")
	echo "== cluster3: three nodes ($(uptime))"
	# shellcheck disable=SC2086 # args are flags, split on purpose
	"$work/parley-load" --label "three nodes" --target "$(IFS=,; echo "${targets[*]}")" --server-pid "$pidlist" \
		--nats-monitor "$(IFS=,; echo "${monitors[*]}")" --json "$out/cluster3.json" $args | tee "$out/cluster3.cluster.txt"
	stop_servers
	echo "== cluster3: one node, then three"
	"$work/parley-load" compare "$out/cluster3.single.json" "$out/cluster3.json" | tee "$out/cluster3.txt"
}

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
	scenarios=(load1000 load2000 stalled idle ws5000)
fi
for s in "${scenarios[@]}"; do
	run "$s"
done
echo "results in $out"
