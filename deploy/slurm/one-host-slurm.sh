#!/usr/bin/env bash
# A three-node Slurm on this one host, for testing the launcher: a controller and three slurmd daemons (n1, n2, n3),
# each with two fake GPUs. Debian's slurmctld/slurmd/slurm-client 22.05 (built with multiple-slurmd support), run as
# root, no munge (auth/none). Not a production setup: see deploy/slurm/README.md.
#
#   deploy/slurm/one-host-slurm.sh start DIR   # writes DIR/slurm.conf, starts the daemons, waits for the nodes
#   deploy/slurm/one-host-slurm.sh stop DIR    # stops them
# Then: SLURM_CONF=DIR/slurm.conf sbatch ...
set -euo pipefail

cmd=${1:?usage: one-host-slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: one-host-slurm.sh start|stop DIR}")
export SLURM_CONF="$dir/slurm.conf"

stop() {
    for pidfile in "$dir"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 1
    for pidfile in "$dir"/run/*.pid; do
        [ -e "$pidfile" ] || continue
        kill -9 "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: one-host-slurm.sh start|stop DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "one-host-slurm.sh: the slurm daemons run as root here" >&2; exit 1; }
for tool in slurmctld slurmd sbatch srun scontrol sinfo; do
    command -v "$tool" >/dev/null || { echo "one-host-slurm.sh: $tool is not installed (Debian: slurmctld slurmd slurm-client)" >&2; exit 1; }
done

host=$(hostname)
mkdir -p "$dir"/run "$dir"/log "$dir"/state "$dir"/dev
for n in 1 2 3; do
    mkdir -p "$dir/spool/n$n"
    # two fake GPUs per node: any character device serves as Slurm's device file
    for g in 0 1; do
        [ -e "$dir/dev/n$n-gpu$g" ] || mknod "$dir/dev/n$n-gpu$g" c 1 3
    done
done
cat > "$dir/slurm.conf" <<CONF
ClusterName=iteris-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/none
CredType=cred/none
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SlurmdParameters=config_overrides
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmdSpoolDir=$dir/spool/%n
KillWait=5
GresTypes=gpu
NodeName=n[1-3] NodeHostname=$host NodeAddr=127.0.0.1 Port=[17001-17003] CPUs=1 RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=main Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
: > "$dir/gres.conf"
for n in 1 2 3; do
    echo "NodeName=n$n Name=gpu File=$dir/dev/n$n-gpu[0-1]" >> "$dir/gres.conf"
done

stop
slurmctld -c -f "$SLURM_CONF"
for n in 1 2 3; do
    slurmd -c -f "$SLURM_CONF" -N "n$n"
done
for _ in $(seq 1 60); do
    if [ "$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)" = 3 ]; then
        echo "slurm: n1 n2 n3 idle (SLURM_CONF=$SLURM_CONF)"
        exit 0
    fi
    sleep 1
done
echo "one-host-slurm.sh: the three nodes did not come up; logs in $dir/log" >&2
sinfo -N >&2 || true
exit 1
