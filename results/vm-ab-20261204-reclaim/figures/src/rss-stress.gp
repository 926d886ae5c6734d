# rss-stress: drawn by scripts/plot; the terminal and output are set by it
set title "Relative peak RSS, stress workloads, relative to mi\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 5 runs (error bars: min-max); commit 2d97896542" font ",10"
set ylabel "Relative peak RSS (lower is better)"
set xrange [-0.6:10.6]
set yrange [0:2.950]
set xtics ("xmalloc-testN" 0, "cache-scratch1" 1, "cache-scratchN" 2, "cache-thrash1" 3, "cache-thrashN" 4, "alloc-test1" 5, "alloc-testN" 6, "sh6benchN" 7, "sh8benchN" 8, "mstressN" 9, "rptestN" 10) nomirror scale 0 rotate by -30
set ytics nomirror
set grid ytics lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set boxwidth 0.2533 absolute
set style fill solid 0.9 border lc rgb "#333333"
set style textbox opaque noborder margins 0.5,0.5
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" back
set label "red arrow head: the spread goes past the clip" at graph 0.01, graph 0.97 left font ",8" tc rgb "#b00000"
plot "rss-stress.dat" index 0 using 1:2 with boxes lc rgb "#d62728" title "sa", \
     '' index 0 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 0 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 0 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 0 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 1 using 1:2 with boxes lc rgb "#8c564b" title "sa-base", \
     '' index 1 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 1 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 1 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 1 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 2 using 1:2 with boxes lc rgb "#1f77b4" title "mi", \
     '' index 2 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 2 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 2 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 2 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle
