# dev16-time-real-world: drawn by scripts/plot; the terminal and output are set by it
set title "Relative time, real-world workloads, relative to mi\nlent 16-core machine: unknown (not recorded), 16 cores; 1,4,8,16 threads, custom mode, median of 1 run (error bars: min-max); commit f35838a" font ",10"
set ylabel "Relative time (lower is better)"
set xrange [-0.6:1.6]
set yrange [0:2.360]
set xtics ("larsonN" 0, "cfrac" 1) nomirror scale 0
set ytics nomirror
set grid ytics lc rgb "#e0e0e0"
set key outside right top vertical Left reverse samplen 2
set boxwidth 0.1267 absolute
set style fill solid 0.9 border lc rgb "#333333"
set style textbox opaque noborder margins 0.5,0.5
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "#000000" back
set label "red arrow head: the spread goes past the clip" at graph 0.01, graph 0.97 left font ",8" tc rgb "#b00000"
plot "dev16-time-real-world.dat" index 0 using 1:2 with boxes lc rgb "#d62728" title "sa", \
     '' index 0 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 0 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 0 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 0 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "dev16-time-real-world.dat" index 1 using 1:2 with boxes lc rgb "#1f77b4" title "mi", \
     '' index 1 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 1 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 1 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 1 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "dev16-time-real-world.dat" index 2 using 1:2 with boxes lc rgb "#2ca02c" title "tc", \
     '' index 2 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 2 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 2 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 2 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "dev16-time-real-world.dat" index 3 using 1:2 with boxes lc rgb "#ff7f0e" title "je", \
     '' index 3 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 3 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 3 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 3 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "dev16-time-real-world.dat" index 4 using 1:2 with boxes lc rgb "#9467bd" title "tbb", \
     '' index 4 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 4 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 4 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 4 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle, \
     "dev16-time-real-world.dat" index 5 using 1:2 with boxes lc rgb "#7f7f7f" title "sys", \
     '' index 5 using 1:3:(0):($8 != 0 ? NaN : $4-$3) with vectors heads size screen 0.004,90 lc rgb "#222222" notitle, \
     '' index 5 using 1:3:(0):($8 != 0 ? $4-$3 : NaN) with vectors head filled size screen 0.008,25 lc rgb "#b00000" notitle, \
     '' index 5 using 1:($7 != 0 ? NaN : $6):5 with labels boxed rotate by 90 left font ",8" notitle, \
     '' index 5 using 1:($7 != 0 ? $6 : NaN):5 with labels boxed rotate by 90 left font ",8" tc rgb "#b00000" notitle
