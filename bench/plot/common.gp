# Shared by bench/plot/*.gp (bench/plot.sh loads it first): the PNG terminal,
# pngcairo when this gnuplot has it, else the libgd png one.  Variables set by
# bench/plot.sh with -e: out (the PNG), sub (the machine line under the title).
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1100,700 font "sans,11" noenhanced
} else {
	set terminal png size 1100,700 noenhanced
}
set output out
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set border lc rgb "#555555"
set key box opaque samplen 3 spacing 1.2
set bars small
