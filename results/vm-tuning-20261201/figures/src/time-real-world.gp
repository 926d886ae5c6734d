# time-real-world: drawn by scripts/plot; the terminal and output are set by it
set title "Relative time, real-world workloads, relative to sa\nvm: AMD EPYC, 2 cores; 2 threads, quick mode, median of 3 runs (error bars: min-max); commit a5d141cef7" font ",10"
set ylabel "Relative time (lower is better)"
set xrange [-0.6:1.6]
set yrange [0:2.360]
set xtics ("cfrac" 0, "larsonN" 1) nomirror scale 0
set ytics nomirror
set grid ytics lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set boxwidth 0.0844 absolute
set style fill solid 0.9 border lc rgb "#333333"
set style textbox opaque noborder margins 0.5,0.5
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" back
set label "red arrow head: the spread goes past the clip" at graph 0.01, graph 0.97 left font ",8" tc rgb "#b00000"
set bmargin 9
set label "sa#1 = sa:SHARDALLOC_PURGE_DELAY=0\nsa#2 = sa:SHARDALLOC_PURGE_DELAY=10\nsa#3 = sa:SHARDALLOC_PURGE_DELAY=100\nsa#4 = sa:SHARDALLOC_PURGE_DELAY=-1\nje#1 = je:MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0\nsys#1 = sys:GLIBC_TUNABLES=glibc.malloc.tcache_count=0" at screen 0.01, screen 0.1574 left font ",8"
plot "time-real-world.dat" index 0 using 1:2 with boxes lc rgb "#d62728" title "sa", \
     '' index 0 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 0 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 0 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 0 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 1 using 1:2 with boxes lc rgb "#dd4a4a" title "sa#1", \
     '' index 1 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 1 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 1 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 1 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 2 using 1:2 with boxes lc rgb "#e36c6d" title "sa#2", \
     '' index 2 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 2 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 2 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 2 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 3 using 1:2 with boxes lc rgb "#ea8f8f" title "sa#3", \
     '' index 3 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 3 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 3 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 3 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 4 using 1:2 with boxes lc rgb "#f0b1b2" title "sa#4", \
     '' index 4 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 4 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 4 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 4 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 5 using 1:2 with boxes lc rgb "#ff7f0e" title "je", \
     '' index 5 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 5 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 5 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 5 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 6 using 1:2 with boxes lc rgb "#ffc38f" title "je#1", \
     '' index 6 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 6 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 6 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 6 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 7 using 1:2 with boxes lc rgb "#7f7f7f" title "sys", \
     '' index 7 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 7 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 7 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 7 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "time-real-world.dat" index 8 using 1:2 with boxes lc rgb "#c3c3c3" title "sys#1", \
     '' index 8 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 8 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 8 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 8 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle
