# absolute-larsonN: drawn by scripts/plot; the terminal and output are set by it
set multiplot layout 1,2 title "larsonN: absolute values, median of the runs\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 3 runs (error bars: min-max); commit a5d141cef7" font ",10"
set xrange [-0.6:8.6]
set xtics ("sa" 0, "sa#1" 1, "sa#2" 2, "sa#3" 3, "sa#4" 4, "je" 5, "je#1" 6, "sys" 7, "sys#1" 8) nomirror scale 0
set format y "%.3g"
set ytics nomirror
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics lc rgb "#e0e0e0"
set boxwidth 0.7 absolute
set style fill solid 0.9 border lc rgb "#333333"
unset key
set bmargin 9
set label "sa#1 = sa:SHARDALLOC_PURGE_DELAY=0\nsa#2 = sa:SHARDALLOC_PURGE_DELAY=10\nsa#3 = sa:SHARDALLOC_PURGE_DELAY=100\nsa#4 = sa:SHARDALLOC_PURGE_DELAY=-1\nje#1 = je:MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0\nsys#1 = sys:GLIBC_TUNABLES=glibc.malloc.tcache_count=0" at screen 0.01, screen 0.1882 left font ",8"
set ylabel "Mops/s, higher is better"
plot "absolute-larsonN.dat" using 1:3:2 with boxes lc rgb variable, '' using 1:4:(0):($5-$4) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:5:6 with labels offset 0,0.8 font ",9"
set ylabel "peak RSS (MiB), lower is better"
plot "absolute-larsonN.dat" using 1:7:2 with boxes lc rgb variable, '' using 1:8:(0):($9-$8) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:9:10 with labels offset 0,0.8 font ",9"
unset multiplot
