# absolute-xmalloc-testN_4__dev16_: drawn by scripts/plot; the terminal and output are set by it
set multiplot layout 1,2 title "xmalloc-testN@4 (dev16): absolute values, median of the runs\nmerged, median of the runs (error bars: min-max):\nvm2 = vm: AMD EPYC, 2 cores, commit 911d2f2f1c\ndev16 = lent 16-core machine: unknown (not recorded), 16 cores, commit f35838a" font ",10"
set xrange [-0.6:6.6]
set xtics ("sa" 0, "sa#1" 1, "mi" 2, "tc" 3, "je" 4, "tbb" 5, "sys" 6) nomirror scale 0
set format y "%.3g"
set ytics nomirror
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics lc rgb "#e0e0e0"
set boxwidth 0.7 absolute
set style fill solid 0.9 border lc rgb "#333333"
unset key
set bmargin 4
set label "sa#1 = sa:SHARDALLOC_REMOTE_BATCH=0" at screen 0.01, screen 0.0483 left font ",8"
set ylabel "Mfree/s, higher is better"
plot "absolute-xmalloc-testN_4__dev16_.dat" using 1:3:2 with boxes lc rgb variable, '' using 1:4:(0):($5-$4) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:5:6 with labels offset 0,0.8 font ",9"
set ylabel "peak RSS (MiB), lower is better"
plot "absolute-xmalloc-testN_4__dev16_.dat" using 1:7:2 with boxes lc rgb variable, '' using 1:8:(0):($9-$8) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:9:10 with labels offset 0,0.8 font ",9"
unset multiplot
