# Shared by the daemon tests: start, drive and stop the real BGP daemons of harness.py.
# Source after tests/lib.sh.
HARNESS="$ROOT/tests/integration/daemons/harness.py"
# the system python: a shim on PATH (pyenv) can take seconds per start, and the checks poll
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DAEMON_NAMES="exabgp bird frr gobgp openbgpd"
declare -A DAEMON_BIN=([exabgp]=/usr/sbin/exabgp [bird]=/usr/sbin/bird [frr]=/usr/lib/frr/bgpd
	[gobgp]=/usr/bin/gobgpd [openbgpd]=/usr/sbin/bgpd)
declare -A DAEMON_CLI=([exabgp]=exabgp [bird]=birdc [frr]=vtysh [gobgp]=gobgp [openbgpd]=bgpctl)

# daemon_present NAME: its binary and its control CLI are installed
daemon_present() { [ -x "${DAEMON_BIN[$1]}" ] && command -v "${DAEMON_CLI[$1]}" >/dev/null; }

# free_port ADDR: a TCP port nothing listens on now (the kernel picks it)
free_port() { $PY -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"; }

# wait_for SECONDS CMD...: run CMD every 0.5 s until it succeeds; 1 if it never did. The
# deadline only bounds a hung run: what is checked afterwards is the exact content.
wait_for() {
	local end=$((SECONDS + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}

# daemons_run DIR CMD NAMES... [-- ARGS]: harness CMD NAME DIR ARGS for each daemon, in parallel;
# each one's output in DIR/NAME/CMD.out, its exit status in DIR/NAME/CMD.rc
daemons_run() {
	local dir=$1 cmd=$2 n names=() pids=(); shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	for n in "${names[@]}"; do
		mkdir -p "$dir/$n"
		( $PY "$HARNESS" "$cmd" "$n" "$dir" "$@" >"$dir/$n/$cmd.out" 2>&1
		  echo $? >"$dir/$n/$cmd.rc" ) &
		pids+=($!)
	done
	wait "${pids[@]}"   # not a bare wait: the collector is a child of this shell too
}

# daemon_ok DIR NAME CMD: did harness CMD succeed for NAME (else say why on stdout)
daemon_ok() {
	[ "$(cat "$1/$2/$3.rc" 2>/dev/null)" = 0 ] && return 0
	tail -1 "$1/$2/$3.out" 2>/dev/null | tr '\n' ' '
	return 1
}
