#!/usr/bin/env bash
# Valgrind memcheck over Electrode's transport tests and a multi-process scenario.
#
#   bash tests/valgrind/memcheck.sh            # from anywhere inside the repository
#
# Builds in the release profile (optimised, with line tables: `debug = 1` in the workspace
# Cargo.toml), which valgrind handles well and which `cargo test --release` already built, then
# runs under
#   valgrind --tool=memcheck --error-exitcode=1 --trace-children=yes --leak-check=full
#            --errors-for-leak-kinds=definite
# (a) the transport's tests: shm-transport/tests/smoke.rs and tests/tests/transport_open_errors.rs
#     (their helper children are traced too);
# (b) a multi-process scenario: the load test (tests/tests/load.rs) with 2 renderers and
#     $MEMCHECK_MESSAGES messages each (mixed send / send_sync / invoke, payloads up to 1 MiB).
#
# One log per process goes to target/valgrind/<run>/; the script prints every log's ERROR SUMMARY
# and every syscall valgrind did not know, and exits 1 if any process had an error (or a leak
# that is definitely lost) or any test failed.
#
# futex_waitv(2) (syscall 449) is unknown to valgrind up to 3.24 at least: main's dispatcher then
# falls back to a 200 us sleep-poll (shm-transport/src/event.rs, wait_any) and still works.
#
# Valgrind without pidfd_open(2) (syscall 434, known since valgrind 3.21; Debian 12's 3.19 lacks
# it; docs/LOAD_AND_MEMCHECK.md says how to build 3.24 from Debian's source package): a process
# that opens a pidfd cannot run under it (`Main` opens one of itself and of each renderer). The
# script detects this, skips the one transport test that opens a pidfd, and in (b) runs main
# natively with only the renderers under memcheck (a renderer inherits main's pidfd and never
# opens one). It says so in its summary.
#
# Environment: VALGRIND (default `valgrind`), MEMCHECK_MESSAGES (default 3000),
# MEMCHECK_SUPPRESSIONS (extra suppression files, space-separated; none are needed today).
set -uo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VALGRIND=${VALGRIND:-valgrind}
MESSAGES=${MEMCHECK_MESSAGES:-3000}

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing valgrind (apt-get)"
        apt-get update -qq && apt-get install -y -qq valgrind >/dev/null || exit 1
    else
        echo "valgrind not found: apt-get install -y valgrind" >&2
        exit 1
    fi
fi
echo "== $("$VALGRIND" --version)"

RUN_DIR="$ROOT/target/valgrind/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR"

VG_FLAGS=(--tool=memcheck --error-exitcode=1 --trace-children=yes --leak-check=full
    --errors-for-leak-kinds=definite --num-callers=40)
for s in ${MEMCHECK_SUPPRESSIONS:-}; do
    VG_FLAGS+=("--suppressions=$s")
done

echo "== building (release profile, with line tables)"
BUILD_JSON="$RUN_DIR/build.json"
if ! cargo test --release --no-run --message-format=json \
    -p electrode-shm --test smoke \
    -p electrode-tests --test transport_open_errors --test load \
    >"$BUILD_JSON" 2>"$RUN_DIR/build.stderr"; then
    cat "$RUN_DIR/build.stderr" >&2
    exit 1
fi
# The test executables, by target name.
exe_of() {
    grep -o '"executable":"[^"]*/deps/'"$1"'-[0-9a-f]*"' "$BUILD_JSON" | tail -n1 |
        sed 's/^"executable":"//; s/"$//'
}
SMOKE=$(exe_of smoke)
OPEN_ERRORS=$(exe_of transport_open_errors)
LOAD=$(exe_of load)
for v in SMOKE OPEN_ERRORS LOAD; do
    if [ -z "${!v}" ] || [ ! -x "${!v}" ]; then
        echo "could not find the $v test executable in $BUILD_JSON" >&2
        exit 1
    fi
done

# Does this valgrind know pidfd_open? Probe with the one transport test that opens a pidfd.
PIDFD_TEST=from_env_without_a_valid_handoff_is_no_handoff
"$VALGRIND" --tool=none --log-file="$RUN_DIR/probe.%p.log" \
    "$OPEN_ERRORS" --exact "$PIDFD_TEST" >/dev/null 2>&1
if grep -qs "unhandled amd64-linux syscall: 434" "$RUN_DIR"/probe.*.log; then
    PIDFD_OK=0
    echo "== this valgrind does not know pidfd_open (syscall 434): main and $PIDFD_TEST run natively"
else
    PIDFD_OK=1
fi

FAILED=()
# run NAME CMD...: run CMD with its output in $RUN_DIR/NAME.out; record a failure.
run() {
    local name=$1
    shift
    echo "== $name"
    if "$@" >"$RUN_DIR/$name.out" 2>&1; then
        grep -E "^test result|^load: accepted" "$RUN_DIR/$name.out" | sed 's/^/   /'
    else
        echo "   FAILED (exit $?): tail of $RUN_DIR/$name.out:"
        tail -n 30 "$RUN_DIR/$name.out" | sed 's/^/   | /'
        FAILED+=("$name")
    fi
}

run smoke "$VALGRIND" "${VG_FLAGS[@]}" --log-file="$RUN_DIR/smoke.%p.log" "$SMOKE" --test-threads=1
if [ $PIDFD_OK = 1 ]; then
    run transport_open_errors "$VALGRIND" "${VG_FLAGS[@]}" \
        --log-file="$RUN_DIR/transport_open_errors.%p.log" "$OPEN_ERRORS" --test-threads=1
else
    run transport_open_errors "$VALGRIND" "${VG_FLAGS[@]}" \
        --log-file="$RUN_DIR/transport_open_errors.%p.log" "$OPEN_ERRORS" --test-threads=1 \
        --skip "$PIDFD_TEST"
fi

export ELECTRODE_LOAD_RENDERERS=2 ELECTRODE_LOAD_MESSAGES=$MESSAGES
if [ $PIDFD_OK = 1 ]; then
    run load "$VALGRIND" "${VG_FLAGS[@]}" --log-file="$RUN_DIR/load.%p.log" "$LOAD" --nocapture
else
    ELECTRODE_LOAD_WRAPPER="$VALGRIND ${VG_FLAGS[*]} --log-file=$RUN_DIR/load-renderer.%p.log" \
        run load-renderers "$LOAD" --nocapture
fi

echo "== valgrind's reports ($RUN_DIR)"
BAD=0
for log in "$RUN_DIR"/*.log; do
    case $log in */probe.*) continue ;; esac
    cmd=$(grep -m1 "Command:" "$log" | sed 's/.*Command: //')
    summary=$(grep -m1 "ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== //')
    printf '   %-40s %s\n' "$(basename "$log")" "${summary:-no ERROR SUMMARY (process did not finish?)}"
    printf '   %-40s   %s\n' "" "${cmd:0:110}"
    grep -h "unhandled .* syscall" "$log" | sort -u | sed 's/^/     /'
    case $summary in "ERROR SUMMARY: 0 errors"*) ;; *) BAD=1 ;; esac
done
[ $PIDFD_OK = 1 ] || echo "   note: valgrind lacks pidfd_open: main and $PIDFD_TEST were not checked"

if [ ${#FAILED[@]} -gt 0 ] || [ $BAD = 1 ]; then
    echo "memcheck: FAILED (${FAILED[*]:-valgrind reported errors})"
    exit 1
fi
echo "memcheck: clean"
