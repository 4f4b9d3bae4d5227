#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for the tests and for trying `mipin submit --engine slurm` on one
# machine. Two fake GPUs (character devices standing in for /dev/nvidiaN) let Slurm's GPU accounting and
# CUDA_VISIBLE_DEVICES assignment run for real; they are not usable by CUDA.
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge if missing (as root), start munged, slurmctld, slurmd
#   scripts/slurm-local.sh stop     stop the three daemons (state and logs stay under $MIPIN_SLURM_DIR)
#   scripts/slurm-local.sh env      print `export SLURM_CONF=...` for this cluster (eval "$(scripts/slurm-local.sh env)")
#
# Everything lives under $MIPIN_SLURM_DIR (default /tmp/mipin-slurm). Needs root (SlurmUser=root, munge as user munge).
# The configuration follows ../shared/DESIGN.md §2: without DefMemPerCPU a job takes all memory and jobs run one at a time.
set -euo pipefail
dir="${MIPIN_SLURM_DIR:-/tmp/mipin-slurm}"
conf="$dir/slurm.conf"

usage() { echo "usage: $0 start|stop|env" >&2; exit 2; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then return; fi
  if [[ $(id -u) -ne 0 ]]; then echo "slurm-local: slurm-wlm and munge are missing; run as root to install them" >&2; exit 1; fi
  echo "slurm-local: installing slurm-wlm and munge..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
  mkdir -p "$dir"/{munge,state,spool,log,gpus}
  chmod 755 "$dir" "$dir/munge" # munged refuses a socket dir others cannot reach ("Socket is inaccessible")
  for i in 0 1; do [[ -e "$dir/gpus/nvidia$i" ]] || mknod "$dir/gpus/nvidia$i" c 1 3; done
  if [[ ! -f "$dir/munge/munge.key" ]]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown -R munge:munge "$dir/munge"
  chmod 400 "$dir/munge/munge.key"
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
  cat > "$conf" <<EOF
ClusterName=mipin-local
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$(( ${MIPIN_SLURM_PORT:-16817} ))
SlurmdPort=$(( ${MIPIN_SLURM_PORT:-16817} + 1 ))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=3600
MailProg=/bin/true
ReturnToService=2
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:fake:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  cat > "$dir/gres.conf" <<EOF
AutoDetect=off
Name=gpu Type=fake File=$dir/gpus/nvidia[0-1]
EOF
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  install_packages
  write_config
  if ! pid_alive "$dir/munge/munged.pid"; then
    runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munge.seed"
  fi
  export SLURM_CONF="$conf"
  pid_alive "$dir/slurmctld.pid" || /usr/sbin/slurmctld -f "$conf"
  pid_alive "$dir/slurmd.pid" || /usr/sbin/slurmd -f "$conf" -N localhost
  # Wait until the node takes jobs (a node left DRAIN/DOWN by an earlier run is resumed).
  for _ in $(seq 1 60); do
    state=$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null || true)
    case "$state" in
      idle*|mixed*|allocated*) echo "slurm-local: cluster up (SLURM_CONF=$conf, node localhost: $state)" >&2; return 0 ;;
      drain*|down*|inval*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  echo "slurm-local: the node did not become idle in 60 s (state '$state'); logs: $dir/log" >&2
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  exit 1
}

stop_daemon() {
  local pidfile="$1"
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

stop() {
  # Jobs still running would outlive slurmd: cancel them first.
  if pid_alive "$dir/slurmctld.pid"; then SLURM_CONF="$conf" scancel --quiet --user=root 2>/dev/null || true; fi
  stop_daemon "$dir/slurmd.pid"
  stop_daemon "$dir/slurmctld.pid"
  stop_daemon "$dir/munge/munged.pid"
  echo "slurm-local: stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) usage ;;
esac
