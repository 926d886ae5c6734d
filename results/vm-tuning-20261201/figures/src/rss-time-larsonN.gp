# rss-time-larsonN: drawn by scripts/plot; the terminal and output are set by it
set title "larsonN: resident memory over time (each allocator's median-time run, sampled every 10 ms)\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 3 runs (error bars: min-max); commit a5d141cef7" font ",10"
set xlabel "time since start (s)"
set ylabel "RSS (MiB), lower is better"
set yrange [0:*]
set grid lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set bmargin 9
set label "sa#1 = sa:SHARDALLOC_PURGE_DELAY=0\nsa#2 = sa:SHARDALLOC_PURGE_DELAY=10\nsa#3 = sa:SHARDALLOC_PURGE_DELAY=100\nsa#4 = sa:SHARDALLOC_PURGE_DELAY=-1\nje#1 = je:MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0\nsys#1 = sys:GLIBC_TUNABLES=glibc.malloc.tcache_count=0" at screen 0.01, screen 0.1684 left font ",8"
plot "rss-time-larsonN.dat" index 0 using 1:2 with lines lw 2 lc rgb "#d62728" title "sa", \
     '' index 1 using 1:2 with lines lw 2 lc rgb "#dd4a4a" title "sa#1", \
     '' index 2 using 1:2 with lines lw 2 lc rgb "#e36c6d" title "sa#2", \
     '' index 3 using 1:2 with lines lw 2 lc rgb "#ea8f8f" title "sa#3", \
     '' index 4 using 1:2 with lines lw 2 lc rgb "#f0b1b2" title "sa#4", \
     '' index 5 using 1:2 with lines lw 2 lc rgb "#ff7f0e" title "je", \
     '' index 6 using 1:2 with lines lw 2 lc rgb "#ffc38f" title "je#1", \
     '' index 7 using 1:2 with lines lw 2 lc rgb "#7f7f7f" title "sys", \
     '' index 8 using 1:2 with lines lw 2 lc rgb "#c3c3c3" title "sys#1"
