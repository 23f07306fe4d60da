#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on loopback, for the sweep tests.
#   scripts/slurm-test-cluster.sh start   install (if missing), configure, start, wait for the node
#   scripts/slurm-test-cluster.sh stop    cancel every job, stop the daemons
#   scripts/slurm-test-cluster.sh env     print the export line clients need (SLURM_CONF)
# Everything lives in $ARENA_SLURM_DIR (default /tmp/arena-slurm: short, Unix socket paths must stay
# under 108 characters; `make test` uses one folder per checkout) and is wiped at each start (a
# stale state can resurrect finished jobs). Ports are the first free pair from 6817 up, so two
# clusters in two folders can run side by side.
# Facts behind the choices: ../shared/notes/slurm-single-node.md (node named localhost, no cgroups,
# memory from `slurmd -C` at ~90%, batch_sched_delay=0, MinJobAge so finished jobs stay visible).
# Must run as root (the daemons run as root here). One line per step.
set -euo pipefail

BASE="${ARENA_SLURM_DIR:-/tmp/arena-slurm}"
CONF="$BASE/etc/slurm.conf"
START_TIMEOUT="${ARENA_SLURM_START_TIMEOUT:-30}"
STOP_TIMEOUT=10

say() { echo "slurm-test-cluster: $*"; }
die() { echo "slurm-test-cluster: error: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "run as root (the test cluster's daemons run as root)."
}

install_if_missing() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  if [ ${#missing[@]} -eq 0 ]; then
    say "install: slurmctld, slurmd, slurm-client and munge already installed"
    return
  fi
  say "install: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$BASE.apt.log" 2>&1; then
    apt-get update >>"$BASE.apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$BASE.apt.log" 2>&1 \
      || die "apt-get install ${missing[*]} failed; see $BASE.apt.log"
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_ports() {
  local p
  for p in 6817 7817 8817 9817 16817 26817; do
    if port_free "$p" && port_free "$((p + 1))"; then CTLD_PORT=$p; SLURMD_PORT=$((p + 1)); return; fi
  done
  die "no free port pair found for slurmctld/slurmd (tried 6817 and up)."
}

pid_alive() {  # a zombie (re-parented daemon) counts as stopped
  local pid="$1" state
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo Z)
  [ "$state" != Z ]
}

stop_pidfile() {
  local name="$1" file="$2" pid waited=0
  [ -f "$file" ] || { say "stop: $name not running (no pid file)"; return 0; }
  pid=$(cat "$file" 2>/dev/null || true)
  if ! pid_alive "$pid"; then say "stop: $name not running"; rm -f "$file"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid" && [ $waited -lt $((STOP_TIMEOUT * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; say "stop: $name (pid $pid) killed after ${STOP_TIMEOUT}s"
  else say "stop: $name (pid $pid) stopped"; fi
  rm -f "$file"
}

stop() {
  if [ -f "$CONF" ] && command -v scancel >/dev/null && [ -f "$BASE/run/slurmctld.pid" ] \
     && pid_alive "$(cat "$BASE/run/slurmctld.pid" 2>/dev/null)"; then
    local jobs
    jobs=$(SLURM_CONF="$CONF" timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [ -n "${jobs// /}" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF="$CONF" timeout 10 scancel $jobs 2>/dev/null || true
      say "stop: cancelled job(s) $jobs"
    else
      say "stop: no jobs to cancel"
    fi
  fi
  stop_pidfile slurmd "$BASE/run/slurmd.pid"
  stop_pidfile slurmctld "$BASE/run/slurmctld.pid"
  stop_pidfile munged "$BASE/run/munged.pid"
}

start() {
  need_root
  local socket="$BASE/munge/munge.socket"
  [ ${#socket} -lt 108 ] || die "ARENA_SLURM_DIR=$BASE is too long: munge's socket $socket must stay under 108 characters; choose a shorter folder."
  mkdir -p "$(dirname "$BASE")"
  install_if_missing
  [ -d "$BASE" ] && stop >/dev/null 2>&1 || true
  rm -rf "$BASE"
  mkdir -p "$BASE"/{etc,state,spool,log,run,munge}
  chmod 0755 "$BASE" "$BASE/munge"
  say "config: fresh state in $BASE"

  # munge: a private key (mode 0600) and a socket folder others can traverse.
  dd if=/dev/urandom of="$BASE/etc/munge.key" bs=1024 count=1 status=none
  chmod 0600 "$BASE/etc/munge.key"
  munged --key-file="$BASE/etc/munge.key" --socket="$BASE/munge/munge.socket" \
         --pid-file="$BASE/run/munged.pid" --log-file="$BASE/log/munged.log" \
         --seed-file="$BASE/state/munged.seed" --force >"$BASE/log/munged.out" 2>&1 \
    || die "munged did not start; see $BASE/log/munged.log"
  say "munged: started (socket $BASE/munge/munge.socket)"

  # The node: CPUs and layout from slurmd -C, memory at ~90% of what slurmd measures (more puts
  # the node in INVAL+DRAIN and jobs wait forever).
  local node mem
  # Read whole, then keep the first line: `| head -n1` under pipefail could fail on a SIGPIPE.
  node=$(slurmd -C 2>/dev/null) || die "slurmd -C failed"
  node=${node%%$'\n'*}
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  [ -n "$mem" ] || die "could not read RealMemory from: $node"
  mem=$((mem * 9 / 10))
  node=$(sed -e 's/^NodeName=[^ ]*/NodeName=localhost NodeAddr=127.0.0.1/' -e "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$node")
  pick_ports

  cat >"$CONF" <<EOF
# Throw-away single-node test cluster written by scripts/slurm-test-cluster.sh.
ClusterName=arenatest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$BASE/munge/munge.socket
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
$node
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  say "config: $CONF (ports $CTLD_PORT/$SLURMD_PORT; ${node})"
  export SLURM_CONF="$CONF"

  local t0
  t0=$(date +%s)
  slurmctld -f "$CONF" >"$BASE/log/slurmctld.out" 2>&1 || die "slurmctld did not start; see $BASE/log/slurmctld.log"
  say "slurmctld: started"
  slurmd -f "$CONF" -N localhost >"$BASE/log/slurmd.out" 2>&1 || die "slurmd did not start; see $BASE/log/slurmd.log"
  say "slurmd: started"

  local waited=0 state=""
  while [ $waited -lt $((START_TIMEOUT * 10)) ]; do
    state=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null | head -n1 || true)
    case "$state" in
      idle*)
        local started
        started=$(timeout 5 scontrol -o show node localhost 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
        if [ -n "$started" ] && [ "$(date -d "$started" +%s 2>/dev/null || echo 0)" -ge $((t0 - 1)) ]; then
          say "node: localhost idle after $(( $(date +%s) - t0 ))s; clients need: export SLURM_CONF=$CONF"
          return 0
        fi ;;
      *inval*|*drain*|*down*) [ $waited -gt 30 ] && die "node localhost is '$state'; see $BASE/log/slurmd.log and $BASE/log/slurmctld.log" ;;
    esac
    sleep 0.1; waited=$((waited + 1))
  done
  die "node localhost not idle after ${START_TIMEOUT}s (last state '${state:-unreachable}'); see $BASE/log/"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
