#!/bin/sh
# Every workload source must compile without a warning under both gcc and clang
# with -Wall -Wextra (the build itself uses gcc only), the few C++ sources under
# g++ and clang++. One TAP line per compiler.
cd "$(dirname "$0")/../.." || exit 1
flags="-std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -pthread -fsyntax-only"
cxxflags="-std=gnu++17 -Wall -Wextra -Werror -O2 -fsized-deallocation -fsyntax-only"
for compiler in gcc clang; do
    if ! command -v "$compiler" >/dev/null 2>&1; then
        echo "not ok - $compiler is installed"
        continue
    fi
    failed=""
    for source in workloads/*/*.c; do
        $compiler $flags "$source" || failed="$failed $source"
    done
    $compiler $flags -DLARSON_SIZED_FREE=1 workloads/larson/larson.c || failed="$failed larson-sized"
    case $compiler in gcc) cxx=g++ ;; *) cxx=clang++ ;; esac
    for source in workloads/*/*.cc; do
        $cxx $cxxflags "$source" || failed="$failed $source"
    done
    if [ -z "$failed" ]; then
        echo "ok - workloads compile cleanly with $compiler -Wall -Wextra"
    else
        echo "not ok - workloads compile cleanly with $compiler -Wall -Wextra:$failed"
    fi
done
