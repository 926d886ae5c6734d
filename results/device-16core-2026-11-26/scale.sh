#!/bin/bash
# Thread scaling of the multi-threaded workloads on the 16-core machine, every
# allocator in the same run, interleaved per thread count.
D=devcarry
export LD_LIBRARY_PATH=$PWD/$D
run() { # name lib extra-env... -- command...
  local name=$1 lib=$2; shift 2
  local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local start=$(date +%s%N)
  local out
  if [ -n "$lib" ]; then out=$(env "${envs[@]}" LD_PRELOAD=$PWD/$D/$lib timeout 60 "$@" 2>&1); else out=$(env "${envs[@]}" timeout 60 "$@" 2>&1); fi
  local rc=$?
  local end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  printf '%s|%s|%s|rc=%s|wall_ms=%s|%s\n' "$BENCH" "$T" "$name" "$rc" "$ms" "$(echo "$out" | tail -1)"
}
ALLOCS=("sa libshardalloc.so" "sa-nobatch libshardalloc.so SHARDALLOC_REMOTE_BATCH=0" "mi libmimalloc.so.2" "je libjemalloc.so.2" "tc libtcmalloc_minimal.so.4" "tbb libtbbmalloc_proxy.so.2" "sys -")
nproc; uname -r
for T in ${THREADS:-1 4 8 16}; do
  for a in "${ALLOCS[@]}"; do
    set -- $a; name=$1; lib=$2; [ "$lib" = "-" ] && lib=""; shift 2; extra=("$@")
    BENCH=xmalloc-test run $name "$lib" "${extra[@]}" X=1 -- $D/xmalloc-test -w $T -t 2 -s 64
    BENCH=larson run $name "$lib" "${extra[@]}" X=1 -- $D/larson 2 8 1000 5000 100 4141 $T
    BENCH=cache-scratch run $name "$lib" "${extra[@]}" X=1 -- $D/cache-scratch $T 1000 1 2000000 $T
    BENCH=cache-thrash run $name "$lib" "${extra[@]}" X=1 -- $D/cache-thrash $T 1000 1 2000000 $T
  done
done
T=1
for a in "${ALLOCS[@]}"; do
  set -- $a; name=$1; lib=$2; [ "$lib" = "-" ] && lib=""; shift 2; extra=("$@")
  BENCH=cfrac run $name "$lib" "${extra[@]}" X=1 -- $D/cfrac 17545186520507317056371138836327483792789528
done
