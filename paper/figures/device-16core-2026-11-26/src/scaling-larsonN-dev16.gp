# scaling-larsonN-dev16: drawn by scripts/plot; the terminal and output are set by it
set title "larsonN: scaling with threads (median, error bars min-max)\nlent 16-core machine: unknown (not recorded), 16 cores; 1,4,8,16 threads, custom mode, median of 1 run (error bars: min-max); commit f35838a" font ",10"
set xlabel "threads"
set ylabel "Mops/s, higher is better"
set logscale x 2
set xrange [0.769:20.800]
set xtics ("1" 1, "4" 4, "8" 8, "16" 16)
set yrange [0:*]
set grid lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set bmargin 4
set label "sa#1 = sa:SHARDALLOC_REMOTE_BATCH=0" at screen 0.01, screen 0.0424 left font ",8"
plot "scaling-larsonN-dev16.dat" index 0 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#d62728" title "sa", \
     '' index 0 using 1:3:4 with yerrorbars lc rgb "#d62728" pt -1 notitle, \
     '' index 1 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#e67d7e" title "sa#1", \
     '' index 1 using 1:3:4 with yerrorbars lc rgb "#e67d7e" pt -1 notitle, \
     '' index 2 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#1f77b4" title "mi", \
     '' index 2 using 1:3:4 with yerrorbars lc rgb "#1f77b4" pt -1 notitle, \
     '' index 3 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#2ca02c" title "tc", \
     '' index 3 using 1:3:4 with yerrorbars lc rgb "#2ca02c" pt -1 notitle, \
     '' index 4 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#ff7f0e" title "je", \
     '' index 4 using 1:3:4 with yerrorbars lc rgb "#ff7f0e" pt -1 notitle, \
     '' index 5 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#9467bd" title "tbb", \
     '' index 5 using 1:3:4 with yerrorbars lc rgb "#9467bd" pt -1 notitle, \
     '' index 6 using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb "#7f7f7f" title "sys", \
     '' index 6 using 1:3:4 with yerrorbars lc rgb "#7f7f7f" pt -1 notitle
