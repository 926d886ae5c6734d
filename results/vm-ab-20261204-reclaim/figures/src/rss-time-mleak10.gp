# rss-time-mleak10: drawn by scripts/plot; the terminal and output are set by it
set title "mleak10: resident memory over time (each allocator's median-time run, sampled every 10 ms)\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 5 runs (error bars: min-max); commit 2d97896542" font ",10"
set xlabel "time since start (s)"
set ylabel "RSS (MiB), lower is better"
set yrange [0:*]
set grid lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
plot "rss-time-mleak10.dat" index 0 using 1:2 with lines lw 2 lc rgb "#d62728" title "sa", \
     '' index 1 using 1:2 with lines lw 2 lc rgb "#8c564b" title "sa-base", \
     '' index 2 using 1:2 with lines lw 2 lc rgb "#1f77b4" title "mi"
