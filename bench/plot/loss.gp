# Throughput under frame loss (bench/plot.sh).  Variables (-e): out, sub,
# files (data files: index median min max, a header line whose second column
# is the legend), colors, xt (the x tics: the loss percentages at 0, 1, ...),
# what, missing (a legend line for a series that could not run, or "").
load dir."/common.gp"
set title "Throughput under frame loss, each protocol".(missing eq "" ? "" : " (kernel TCP across the LAN: missing)")."\n".what."\n".sub
set xlabel "frame loss probability (% of the frames on the LAN, data and ACKs alike)"
set ylabel "throughput (Gb/s, log scale)"
set logscale y 10
set format y "%g"
eval "set xtics (".xt.")"
set offsets 0.3, 0.3, 0, 0
set key top right
plot for [i = 1:words(files)] word(files, i) using 1:2:3:4 with yerrorlines \
	lc rgb word(colors, i) lw 2 pt 7 ps 0.9 title columnheader(2), \
	1/0 with lines lc rgb "#ffffff" title missing
