# Round-trip time distribution, one CDF per protocol (bench/plot.sh).
# Variables (-e): out, sub, files (data files: fraction us, a header line whose
# second column is the legend), colors, pis (point interval per file: 10 marks
# every tenth quantile of a full CDF, 1 every point when only percentiles were
# measured), what, missing (a legend line for protocols not measured, or "").
load dir."/common.gp"
set title "Round-trip time distribution (CDF), each protocol\n".what."\n".sub
set xlabel "round-trip time (µs, log scale)"
set ylabel "fraction of round trips at most x"
set logscale x 10
set format x "%g"
set yrange [0:1.02]
set ytics 0.1
set key below
set bmargin 7
plot for [i = 1:words(files)] word(files, i) using 2:1 with linespoints \
	lc rgb word(colors, i) lw 2 pt 7 ps 0.9 pi int(word(pis, i)) title columnheader(2), \
	1/0 with lines lc rgb "#ffffff" title missing
