#!/usr/bin/env bash
# One command that checks a GPU host: the GPU build, the CUDA tests, the Gram-on-device benchmark and a whole merge on
# the GPU against the CPU, then one table. It fails, rather than skipping, when the host has an NVIDIA GPU that the
# GPU build cannot use. Meant to take well under 8 minutes on one GPU.
#   deploy/gpu-check.sh [cuda:N]        (default cuda:0; the device ITERIS_TEST_CUDA_DEVICE names for CudaTest)
# Writes its logs and the benchmark's CSV to ${ITERIS_GPU_CHECK_DIR:-$TMPDIR/iteris-gpu-check}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

device="${1:-cuda:0}"
out="${ITERIS_GPU_CHECK_DIR:-${TMPDIR:-/tmp}/iteris-gpu-check}"
mkdir -p "$out"
rows=()
row() { rows+=("$(printf '%-34s %-6s %8s  %s' "$1" "$2" "$3" "$4")"); }
failed=0
timed() { # NAME LOG CMD...: runs CMD, records its outcome and seconds
  local name="$1" log="$2" t0 rc
  shift 2
  t0=$(date +%s)
  set +e
  "$@" >"$log" 2>&1
  rc=$?
  set -e
  echo $(( $(date +%s) - t0 ))
  return $rc
}

gpus=0
if [ -d /proc/driver/nvidia/gpus ]; then
  gpus=$(find /proc/driver/nvidia/gpus -mindepth 1 -maxdepth 1 | wc -l)
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L >"$out/nvidia-smi.txt" 2>&1 || true
echo "gpu-check: $gpus NVIDIA GPU(s) listed by the driver; testing $device; logs in $out"

# 1. the GPU build: onnxruntime_gpu with the CUDA provider in every module, the jar deploy/target/iteris-gpu.jar
if s=$(timed build "$out/build.log" ./mvnw -B -q -Pgpu -DskipTests package); then
  row "GPU build (-Pgpu)" ok "${s}s" "deploy/target/iteris-gpu.jar"
else
  row "GPU build (-Pgpu)" FAIL "${s}s" "see $out/build.log"
  failed=1
fi

# 2. CudaTest: forward passes, statistics (Gram in the session and on the host) and a whole merge, GPU against CPU
if [ "$failed" = 0 ]; then
  s=$(ITERIS_TEST_CUDA_DEVICE="$device" timed cudatest "$out/cudatest.log" ./mvnw -B -o -Pgpu test -pl protocol,core -Dtest=CudaTest \
    -Dsurefire.failIfNoSpecifiedTests=false) && rc=0 || rc=$?
  summary=$(grep -E "Tests run: [0-9]+, Failures" "$out/cudatest.log" | tail -n 1 | sed 's/^\[[A-Z]*\] //')
  merge=$(grep -o "max relative difference of dW from the CPU [0-9.e+-]*" "$out/cudatest.log" | tail -n 1 || true)
  if [ "$rc" != 0 ]; then
    row "CudaTest" FAIL "${s}s" "$summary (see $out/cudatest.log)"
    failed=1
  elif grep -q "CudaTest skipped" "$out/cudatest.log"; then
    why=$(grep -o "CudaTest skipped.*" "$out/cudatest.log" | head -n 1)
    if [ "$gpus" -gt 0 ]; then
      row "CudaTest" FAIL "${s}s" "the driver lists $gpus GPU(s) but: $why"
      failed=1
    else
      row "CudaTest" skip "${s}s" "$why"
    fi
  else
    row "CudaTest" ok "${s}s" "$summary; merge: $merge"
  fi
fi

# 3. the statistics of a unit with the Gram on the host against in the session, on the GPU (bench transfer)
if [ "$failed" = 0 ] && [ "$gpus" -gt 0 ]; then
  if s=$(ITERIS_JAR=deploy/target/iteris-gpu.jar timed transfer "$out/transfer.log" bin/iteris bench transfer --device "$device" \
      --out "$out/transfer" --csv "$out/transfer.csv"); then
    row "bench transfer --device $device" ok "${s}s" "$out/transfer.csv"
  else
    row "bench transfer --device $device" FAIL "${s}s" "see $out/transfer.log"
    failed=1
  fi
fi

echo
printf '%-34s %-6s %8s  %s\n' "check" "result" "time" "detail"
printf '%s\n' "${rows[@]}"
if [ -s "$out/transfer.csv" ]; then
  echo
  cat "$out/transfer.csv"
fi
exit "$failed"
