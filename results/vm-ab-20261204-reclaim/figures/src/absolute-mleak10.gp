# absolute-mleak10: drawn by scripts/plot; the terminal and output are set by it
set multiplot layout 1,2 title "mleak10: absolute values, median of the runs\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 5 runs (error bars: min-max); commit 2d97896542" font ",10"
set xrange [-0.6:2.6]
set xtics ("sa" 0, "sa-base" 1, "mi" 2) nomirror scale 0
set format y "%.3g"
set ytics nomirror
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics lc rgb "#e0e0e0"
set boxwidth 0.7 absolute
set style fill solid 0.9 border lc rgb "#333333"
unset key
set ylabel "time (s), lower is better"
plot "absolute-mleak10.dat" using 1:3:2 with boxes lc rgb variable, '' using 1:4:(0):($5-$4) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:5:6 with labels offset 0,0.8 font ",9"
set ylabel "peak RSS (MiB), lower is better"
plot "absolute-mleak10.dat" using 1:7:2 with boxes lc rgb variable, '' using 1:8:(0):($9-$8) with vectors heads size screen 0.004,90 lc rgb "#222222", '' using 1:9:10 with labels offset 0,0.8 font ",9"
unset multiplot
