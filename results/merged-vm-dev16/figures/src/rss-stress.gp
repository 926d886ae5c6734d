# rss-stress: drawn by scripts/plot; the terminal and output are set by it
set title "Relative peak RSS, stress workloads, relative to mi\nmerged, median of the runs (error bars: min-max):\nvm2 = vm: AMD EPYC, 2 cores, commit 911d2f2f1c\ndev16 = lent 16-core machine: unknown (not recorded), 16 cores, commit f35838a" font ",10"
set ylabel "Relative peak RSS (lower is better)"
set xrange [-0.6:16.6]
set yrange [0:2.950]
set xtics ("xmalloc-testN (vm2)" 0, "xmalloc-testN@1 (dev16)" 1, "xmalloc-testN@4 (dev16)" 2, "xmalloc-testN@8 (dev16)" 3, "xmalloc-testN@16 (dev16)" 4, "cache-scratch1 (vm2)" 5, "cache-scratchN (vm2)" 6, "cache-scratchN@1 (dev16)" 7, "cache-scratchN@4 (dev16)" 8, "cache-scratchN@8 (dev16)" 9, "cache-scratchN@16 (dev16)" 10, "cache-thrash1 (vm2)" 11, "cache-thrashN (vm2)" 12, "cache-thrashN@1 (dev16)" 13, "cache-thrashN@4 (dev16)" 14, "cache-thrashN@8 (dev16)" 15, "cache-thrashN@16 (dev16)" 16) nomirror scale 0 rotate by -30
set ytics nomirror
set grid ytics lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set boxwidth 0.1086 absolute
set style fill solid 0.9 border lc rgb "#333333"
set style textbox opaque noborder margins 0.5,0.5
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" back
set label "no baseline" at 1,1.475 center
set label "no baseline" at 2,1.475 center
set label "no baseline" at 3,1.475 center
set label "no baseline" at 4,1.475 center
set label "no baseline" at 7,1.475 center
set label "no baseline" at 8,1.475 center
set label "no baseline" at 9,1.475 center
set label "no baseline" at 10,1.475 center
set label "no baseline" at 13,1.475 center
set label "no baseline" at 14,1.475 center
set label "no baseline" at 15,1.475 center
set label "no baseline" at 16,1.475 center
set label "red arrow head: the spread goes past the clip" at graph 0.01, graph 0.97 left font ",8" tc rgb "#b00000"
set bmargin 4
set label "sa#1 = sa:SHARDALLOC_REMOTE_BATCH=0" at screen 0.01, screen 0.0393 left font ",8"
plot "rss-stress.dat" index 0 using 1:2 with boxes lc rgb "#d62728" title "sa", \
     '' index 0 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 0 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 0 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 0 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 1 using 1:2 with boxes lc rgb "#e67d7e" title "sa#1", \
     '' index 1 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 1 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 1 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 1 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 2 using 1:2 with boxes lc rgb "#1f77b4" title "mi", \
     '' index 2 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 2 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 2 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 2 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 3 using 1:2 with boxes lc rgb "#2ca02c" title "tc", \
     '' index 3 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 3 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 3 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 3 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 4 using 1:2 with boxes lc rgb "#ff7f0e" title "je", \
     '' index 4 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 4 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 4 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 4 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 5 using 1:2 with boxes lc rgb "#9467bd" title "tbb", \
     '' index 5 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 5 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 5 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 5 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "rss-stress.dat" index 6 using 1:2 with boxes lc rgb "#7f7f7f" title "sys", \
     '' index 6 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 6 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 6 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 6 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle
