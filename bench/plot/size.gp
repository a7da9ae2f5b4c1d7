# Throughput against message size (bench/plot.sh).  Variables (-e): out, sub,
# files (data files, one per protocol: size median min max, a header line whose
# second column is the legend), colors and dashes (one word per file), xt
# (the x tics), what (the runs behind each point).
load dir."/common.gp"
set title "Throughput against message size, each protocol\n".what."\n".sub
set xlabel "message size (bytes, log scale; raw frames and bare ring: frame size)"
set ylabel "throughput (Gb/s, log scale)"
set logscale x 2
set logscale y 10
eval "set xtics (".xt.")"
set format y "%g"
set key top left
set offsets graph 0.03, graph 0.03, 0, 0
plot for [i = 1:words(files)] word(files, i) using 1:2:3:4 with yerrorlines \
	lc rgb word(colors, i) dt int(word(dashes, i)) lw 2 pt 7 ps 0.9 title columnheader(2)
