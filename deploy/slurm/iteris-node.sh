#!/usr/bin/env bash
# One iteris node of a Slurm merge, started by iteris.sbatch through srun (one task per node). It listens on Slurm's
# address for this node (NodeAddr, which is the host name where names resolve) and on ITERIS_SLURM_PORT + SLURM_NODEID,
# so it works unchanged where several Slurm nodes share one host. Everything else comes from iteris.sbatch's
# ITERIS_SLURM_* variables.
set -euo pipefail

addr="$(scontrol show node "$SLURMD_NODENAME" | grep -o 'NodeAddr=[^ ]*' | head -n 1 | cut -d= -f2)"
port=$((ITERIS_SLURM_PORT + SLURM_NODEID))
# native libraries are unpacked per node, not into one cache on the shared file system
export XDG_CACHE_HOME="${TMPDIR:-/tmp}/iteris-cache-$SLURM_JOB_ID-$SLURM_NODEID"

device="${ITERIS_SLURM_DEVICE:-}"
if [ -z "$device" ]; then
  device=cpu
  if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    if [ -d /proc/driver/nvidia/gpus ]; then
      device=cuda
    else
      echo "iteris-node.sh: Slurm gave this node GPUs $CUDA_VISIBLE_DEVICES but no NVIDIA driver is loaded: the workers run on the CPU"
    fi
  fi
fi

args=(node --seed "$ITERIS_SLURM_SEEDS" --host "$addr" --port "$port" --device "$device"
  --work-dir "$ITERIS_SLURM_RUN/node-$SLURM_NODEID" --store "$ITERIS_SLURM_STORE"
  --journal "$ITERIS_SLURM_JOURNAL" --tls "$ITERIS_SLURM_TLS/node")
[ -n "$ITERIS_SLURM_JOURNAL_USER" ] && args+=(--journal-user "$ITERIS_SLURM_JOURNAL_USER")
[ -n "$ITERIS_SLURM_JOURNAL_PASSWORD_FILE" ] && args+=(--journal-password-file "$ITERIS_SLURM_JOURNAL_PASSWORD_FILE")
if [ "$ITERIS_SLURM_HTTP_PORT" != 0 ]; then
  args+=(--http-port $((ITERIS_SLURM_HTTP_PORT + SLURM_NODEID)) --http-token-file "$ITERIS_SLURM_RUN/console-token")
  echo "console: https://$addr:$((ITERIS_SLURM_HTTP_PORT + SLURM_NODEID))/ (token in $ITERIS_SLURM_RUN/console-token)"
fi
# shellcheck disable=SC2206
iteris=($ITERIS_CMD)
exec "${iteris[@]}" "${args[@]}"
