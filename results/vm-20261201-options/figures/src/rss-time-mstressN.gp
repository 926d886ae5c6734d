# rss-time-mstressN: drawn by scripts/plot; the terminal and output are set by it
set title "mstressN: resident memory over time (each allocator's median-time run, sampled every 10 ms)\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 3 runs (error bars: min-max); commit 42d8e1c88d" font ",10"
set xlabel "time since start (s)"
set ylabel "RSS (MiB), lower is better"
set yrange [0:*]
set grid lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set bmargin 5
set label "sa#1 = sa:SHARDALLOC_LARGE_CACHE=0\nsa#2 = sa:SHARDALLOC_REMOTE_BATCH=0" at screen 0.01, screen 0.0706 left font ",8"
plot "rss-time-mstressN.dat" index 0 using 1:2 with lines lw 2 lc rgb "#d62728" title "sa", \
     '' index 1 using 1:2 with lines lw 2 lc rgb "#e16161" title "sa#1", \
     '' index 2 using 1:2 with lines lw 2 lc rgb "#ec9a9b" title "sa#2"
