# results.md from a results.json of bench/run.sh: the machine and settings
# first, the plots, then every section as a Markdown table (the same figures
# bench/run.sh prints).  Used by bench/report.sh; with --arg only sweeps it
# gives only the sweeps' tables (what bench/run.sh prints for them).
#   jq -r --arg only "" -f bench/plot/report.jq results.json
def fmt($d): if type != "number" then "-"
	else (. * pow(10; $d) | round) as $i | ($i | fabs | tostring) as $s
		| (if $d == 0 then $s
		   else ("0" * ([($d + 1) - ($s | length), 0] | max) + $s) as $p
			| $p[:($p | length) - $d] + "." + $p[($p | length) - $d:] end)
		| (if $i < 0 then "-" + . else . end) end;
def rng($d): if type != "object" or .median == null then "-"
	else "\(.median | fmt($d)) [\(.min | fmt($d))..\(.max | fmt($d))]" end;
def verdict: if . == true then "PASS" elif . == false then "MISS" else "-" end;
def cell: if type == "string" then gsub("\\|"; "\\|") | gsub("\n"; " ")
	elif type == "number" then (if . == floor then tostring else (. * 1000 | round) / 1000 | tostring end)
	elif . == null then "-" else tojson end;
def table($head; $rows): "| " + ($head | map(cell) | join(" | ")) + " |",
	"|" + ($head | map("---") | join("|")) + "|",
	($rows[] | "| " + (map(cell) | join(" | ")) + " |"), "";
def gib: . / 1073741824 | . * 10 | round / 10;
def section($t): "## " + $t, "";
def skipped: if type != "object" then "not in these results"
	elif .skipped then "skipped: \(.skipped)" elif .failed then "failed (exit \(.exit // "?"))"
	else "no result" end;
def sizelabel: if . >= 1048576 and . % 1048576 == 0 then "\(. / 1048576) MiB"
	elif . >= 1024 and . % 1024 == 0 then "\(. / 1024) KiB" else "\(.) B" end;

. as $r
| def sweeps:
	(section("Throughput against message size (sweep, plot throughput_size.png)"),
	 (if ($r.sweeps.size.points | type) == "array" then
		$r.sweeps.size as $s
		| "Gb/s, median [min..max] of \($s.reps) runs of \($s.seconds) s at each size; at each size the protocols run in turn, the order rotated every repetition. Raw frames and the bare ring: frame size (at most \($s.frame_max) B).", "",
		  ([$s.protocols | to_entries[] | "- \(.key): \(.value)"] | join("\n")), "",
		  (["rbs", "tcp", "kernel", "raw", "ring"]) as $ps
		  | table(["size"] + $ps;
			[$s.sizes[] as $x | [$x | sizelabel] + [$ps[] as $p
				| ($s.points[] | select(.proto == $p and .x == $x)
				   | (.gbps | rng(2)) + (if .failed > 0 then " (\(.failed) failed)" else "" end)) // "-"]]),
		  "CPU ns per byte, both ends (median; - where the program does not report it):", "",
		  table(["size"] + $ps;
			[$s.sizes[] as $x | [$x | sizelabel] + [$ps[] as $p
				| ($s.points[] | select(.proto == $p and .x == $x) | .cpu_ns_per_byte.median | fmt(3)) // "-"]])
	  else "Not measured: \($r.sweeps.size | skipped).", "" end),
	 section("Round-trip time distribution (plot rtt_cdf.png)"),
	 (if ($r.rtt_cdf | type) == "array" then
		"Round-trip time in µs at each quantile, per quantile the median over the runs (the suite's ping-pong runs; busy-poll on both sides).", "",
		(def at($q): . as $d | [range(0; $d.quantiles | length) | select($d.quantiles[.] == $q)]
			| if length == 0 then "-" else $d.us[.[0]] | fmt(3) end;
		 table(["protocol", "runs", "min", "p10", "p50", "p90", "p99", "max", "source"];
			[$r.rtt_cdf[] | if .us == null then [.label, 0, "-", "-", "-", "-", "-", "-", .missing]
				else [.label, .runs, at(0), at(0.1), at(0.5), at(0.9), at(0.99), at(1),
				      (if .exact then "rtt_us.cdf" else "percentiles only" end)] end]))
	  else "Not available.", "" end),
	 section("Throughput under frame loss (sweep, plot throughput_loss.png)"),
	 (if ($r.sweeps.loss.points | type) == "array" then
		$r.sweeps.loss as $s
		| "Gb/s, median [min..max] of \($s.reps) runs of \($s.seconds) s, \($s.msg / 1024) KiB messages, MTU \($s.mtu); retransmitted segments (median) in parentheses.", "",
		  ([$s.protocols | to_entries[] | "- \(.key): \(.value)"] | join("\n")), "",
		  (if $s.kernel_missing then "Kernel TCP across the LAN is missing: \($s.kernel_missing).", "" else empty end),
		  (["rbs", "tcp", "kernel"]) as $ps
		  | table(["loss %"] + $ps;
			[$s.loss_pct[] as $x | [$x] + [$ps[] as $p
				| ($s.points[] | select(.proto == $p and .x == $x)
				   | (.gbps | rng(2)) + " (\(.retransmits.median | fmt(0)))"
				     + (if .failed > 0 then " (\(.failed) failed)" else "" end)) // "-"]])
	  else "Not measured: \($r.sweeps.loss | skipped).", "" end));
if $only == "sweeps" then sweeps else
"# Jetstream benchmark results", "",
"`make bench` (bench/run.sh) of \($r.date // $r.machine.date // "?"); docs/bench.md says how to read every table.", "",
section("Machine"),
($r.machine as $m | table(["", ""]; [
	["CPU", $m.cpu], ["cores", "\($m.cores // $m.cpus)" + (if $m.sockets then " (\($m.sockets) socket(s), \($m.cores_per_socket) cores each, \($m.threads_per_core) thread(s) per core)" else "" end)],
	["memory", (if $m.memory_bytes then "\($m.memory_bytes | gib) GiB" else "-" end)],
	["kernel", $m.kernel], ["OS", $m.os // "-"], ["Debian version", $m.debian // "-"],
	["virtualization", ($m.virtualization // "-") + (if $m.container then ", container: \($m.container)" else "" end)],
	["compiler", $m.compiler // "-"],
	["git commit", ($r.commit // $m.commit) + (if $m.commit_dirty then " (with uncommitted changes)" else "" end)],
	["date", $r.date // $m.date],
	["load", "during the LAN runs other processes used \($m.other_cpu_pct)% of the CPU time, the hypervisor stole \($m.steal_pct)%"]])),
section("Settings"),
($r.settings as $s | table(["setting", "value"]; [
	["BENCH_REPS (paired repetitions)", $s.reps], ["BENCH_SECONDS (each throughput run)", $s.seconds],
	["BENCH_PINGPONG_N (raw ping-pong round trips)", $s.pingpong_roundtrips],
	["BENCH_RBS_PINGPONG_N (RBS/TCP ping-pong round trips)", $s.rbs_pingpong_roundtrips],
	["BENCH_TCP (user TCP vs kernel TCP)", $s.tcp], ["BENCH_TCP_ZEROCOPY", $s.tcp_zerocopy],
	["message-size sweep", (if ($s.sweep | type) == "object" then "\($s.sweep.reps) x \($s.sweep.seconds) s at \($s.sweep.sizes | map(sizelabel) | join(", "))" else "off" end)],
	["loss sweep", (if ($s.loss_sweep | type) == "object" then "\($s.loss_sweep.reps) x \($s.loss_sweep.seconds) s at \($s.loss_sweep.loss_pct | map("\(.) %") | join(", ")), MTU \($s.loss_sweep.mtu)" else "off" end)]])),
section("Plots"),
"Drawn by bench/plot.sh beside this file (docs/bench.md, \"Results, tables and plots\", says how to read them).", "",
def drawn($s): ([$s.points[]? | select(.gbps.median != null)] | length) > 0;
(if drawn($r.sweeps.size) then "![Throughput against message size](throughput_size.png)", ""
 elif ($r.sweeps.size.points | type) == "array" then "No throughput_size.png: not one run of the sweep gave a figure.", ""
 else "No throughput_size.png: the message-size sweep did not run (\($r.sweeps.size | skipped)).", "" end),
(if ([$r.rtt_cdf[]? | select(.us != null)] | length) > 0 then "![Round-trip time distribution](rtt_cdf.png)", ""
 else "No rtt_cdf.png: no ping-pong runs.", "" end),
(if drawn($r.sweeps.loss) then "![Throughput under frame loss](throughput_loss.png)", ""
 elif ($r.sweeps.loss.points | type) == "array" then "No throughput_loss.png: not one run of the sweep gave a figure.", ""
 else "No throughput_loss.png: the loss sweep did not run (\($r.sweeps.loss | skipped)).", "" end),
section("LAN raw throughput: jet perf / ring_ref"),
"Median of \($r.settings.reps) paired runs of \($r.settings.seconds) s; Gb/s columns are medians of the raw numbers, the ratio is the median of the per-pair ratios.", "",
table(["frame", "jet Gb/s", "ref Gb/s", "ratio median [min..max]", "target", "result"];
	[$r.throughput[] | [.frame, (.jet_gbps.median | fmt(2)), (.ref_gbps.median | fmt(2)), (.ratio | rng(3)),
		(if .target then ">= \(.target.ratio_at_least)" else "-" end), (.pass | verdict)]]),
section("\($r.pingpong.frame)-byte ping-pong round trip: jet perf / ring_ref"),
"Median of \($r.settings.reps) paired runs of \($r.pingpong.roundtrips) round trips.", "",
($r.pingpong | table(["", "jet µs", "ref µs", "ratio median [min..max]", "target", "result"];
	[["p50", (.jet_p50_us.median | fmt(3)), (.ref_p50_us.median | fmt(3)), (.ratio_p50 | rng(3)), "<= \(.target.ratio_p50_at_most)", (.pass | verdict)],
	 ["p99", (.jet_p99_us.median | fmt(3)), (.ref_p99_us.median | fmt(3)), (.ratio_p99 | rng(3)), "-", "-"]])),
section("RBS vs kernel TCP: jet perf --proto rbs / tcp_ref (127.0.0.1)"),
($r.rbs_vs_tcp | table(["", "rbs", "tcp", "ratio median [min..max]", "target", "result"];
	[(.throughput | ["Gb/s, \(.msg) B msgs", (.rbs_gbps.median | fmt(2)), (.tcp_gbps.median | fmt(2)), (.ratio | rng(3)), ">= \(.target.ratio_at_least)", (.pass | verdict)],
		["CPU ns/byte, both ends", (.rbs_cpu_ns_per_byte.median | fmt(3)), (.tcp_cpu_ns_per_byte.median | fmt(3)), (.cpu_ratio | rng(3)), "-", "-"]),
	 (.pingpong | ["ping-pong p50 µs (\(.msg) B)", (.rbs_p50_us.median | fmt(3)), (.tcp_p50_us.median | fmt(3)), (.ratio_p50 | rng(3)), "<= \(.target.ratio_p50_at_most)", (.pass | verdict)],
		["ping-pong p99 µs", (.rbs_p99_us.median | fmt(3)), (.tcp_p99_us.median | fmt(3)), (.ratio_p99 | rng(3)), "-", "-"])])),
section("User TCP vs kernel TCP: jet perf --proto tcp (LAN, MTU 65536) / tcp_ref (127.0.0.1)"),
(if ($r.tcp_vs_kernel.pingpong | type) == "object" then
	$r.tcp_vs_kernel | table(["", "user", "kernel", "ratio median [min..max]", "target", "result"];
	[(.throughput[] | ["Gb/s, \(.msg) B msgs\(if .zerocopy then " (zc)" else "" end)", (.user_gbps.median | fmt(2)), (.kernel_gbps.median | fmt(2)), (.ratio | rng(3)), ">= \(.target.ratio_at_least)", (.pass | verdict)],
		["CPU ns/byte, both ends", (.user_cpu_ns_per_byte.median | fmt(3)), (.kernel_cpu_ns_per_byte.median | fmt(3)), (.cpu_ratio | rng(3)), "-", "-"]),
	 (.pingpong | ["ping-pong p50 µs (1 B)", (.user_p50_us.median | fmt(3)), (.kernel_p50_us.median | fmt(3)), (.ratio_p50 | rng(3)), "<= \(.target.ratio_p50_at_most)", (.pass | verdict)],
		["ping-pong p99 µs", (.user_p99_us.median | fmt(3)), (.kernel_p99_us.median | fmt(3)), (.ratio_p99 | rng(3)), "-", "-"])])
 else "Not measured: \($r.tcp_vs_kernel | skipped).", "" end),
section("Kernel TCP across the LAN through two jet lan tap stations / over a veth pair (lan_tap.sh)"),
(if ($r.lan_tap.ratio.median // null) != null then
	$r.lan_tap | table(["", "LAN", "veth", "ratio median [min..max]", "target", "result"];
	[["Gb/s", (.tap_gbps.median | fmt(2)), (.veth_gbps.median | fmt(2)), (.ratio | rng(3)), ">= \(.target.ratio_at_least)", (.pass | verdict)],
	 ["ping RTT median µs", (.rtt_us.tap | fmt(0)), (.rtt_us.veth | fmt(0)), (.rtt_us.ratio | fmt(3)), "-", "-"],
	 ["tap processes, CPU ns/byte", (.tap_cpu_ns_per_byte.median | fmt(3)), "-", "-", "-", "-"]])
 else "Not measured: \($r.lan_tap | skipped).", "" end),
section("User TCP over TAP to a kernel peer / kernel TCP over a veth pair (tap_tcp.sh)"),
(if ($r.tap_tcp.from_user.ratio.median // null) != null then
	$r.tap_tcp | table(["", "user/tap Gb/s", "veth Gb/s", "ratio median [min..max]", "target", "result", "jet host CPU ns/byte"];
	[(["to user (forward)", .to_user], ["from user (-R, TSO)", .from_user])
		| [.[0], (.[1].tap_gbps.median | fmt(2)), (.[1].veth_gbps.median | fmt(2)), (.[1].ratio | rng(3)), ">= 0.5",
		   (.[1].ratio.median >= 0.5 | verdict), (.[1].host_cpu_ns_per_byte.median | fmt(3))]])
 else "Not measured: \($r.tap_tcp | skipped).", "" end),
section("Raw frame rate of the real links on veth / plain AF_PACKET (links.sh)"),
(if ($r.links.rows | type) == "array" then
	table(["link", "frame", "link Mpps", "ref Mpps", "ratio median [min..max]"];
	[$r.links.rows[] | if .missing then [.backend, .frame, "missing: \(.missing)", "-", "-"]
		else [.backend, .frame, (.link_mpps.median | fmt(3)), (.ref_mpps.median | fmt(3)), (.ratio | rng(3))] end])
 else "Not measured: \($r.links | skipped).", "" end),
section("User TCP over xdp: / kernel TCP over the same veth (xdp_tcp.sh)"),
(if ($r.xdp_tcp.offloads_off.ratio.median // null) != null then
	$r.xdp_tcp | table(["", "user/xdp Gb/s", "kernel Gb/s", "ratio median [min..max]", "target", "result"];
	[["offloads off", (.offloads_off.xdp_gbps.median | fmt(2)), (.offloads_off.kernel_gbps.median | fmt(2)), (.offloads_off.ratio | rng(3)), ">= \(.target)", (.offloads_off.ratio.median >= .target | verdict)],
	 ["offloads on", (.offloads_on.xdp_gbps.median | fmt(2)), (.offloads_on.kernel_gbps.median | fmt(2)), (.offloads_on.ratio | rng(3)), "(report)", "-"]])
 else "Not measured: \($r.xdp_tcp | skipped).", "" end),
section("Capture cost: capturing to a file / not (capture.sh)"),
(if ($r.capture | type == "object" and (to_entries | any(.value | type == "object" and has("ratio")))) then
	$r.capture | . as $c | table(["", "capturing Gb/s", "without Gb/s", "ratio median [min..max]", "frames captured", "target", "result"];
	[to_entries[] | select(.value | type == "object" and has("ratio")) | .key as $k | .value |
	 [({dump: "jet dump -w (monitor, whole frames; memory speed: no file takes it)",
	    dump_snap: "jet dump -w --snaplen 128", dump_10g: "jet dump -w, whole frames, LAN at 10 Gbit/s",
	    wrap: "capture:FILE/ on both stations"}[$k] // $k),
	  (.with_gbps.median | fmt(2)), (.without_gbps.median | fmt(2)), (.ratio | rng(3)),
	  "\(((.captured_fraction.median // 1) * 100) | fmt(0))%",
	  (if $k == "dump_snap" or $k == "dump_10g" then ">= \($c.target)" else "(report)" end),
	  (if $k == "dump_snap" or $k == "dump_10g" then (.ratio.median >= $c.target | verdict) else "-" end)]])
 else "Not measured: \($r.capture | skipped).", "" end),
sweeps,
section("Other benchmarks (bench_*)"),
(def rows_like: type == "array" and length > 0
	and all(.[]; type == "object" and all(.[]; type != "object" and type != "array"));
 def objtable: . as $rows
	| (reduce ($rows[] | keys_unsorted[]) as $k ([]; if any(.[]; . == $k) then . else . + [$k] end)) as $cols
	| table($cols; [$rows[] as $x | [$cols[] as $c | $x[$c]]]);
 def chan: .output as $o
	| (if ($o.placement | type) == "object" then $o.placement as $p
		| [["placement, 64 KiB: jet_rx_place / memcpy", "\($p.place_gbps.median | fmt(2)) / \($p.memcpy_gbps.median | fmt(2)) GB/s", ($p.ratio | rng(3)), ">= \($p.target.ratio_at_least)", ($p.pass | verdict)]] else [] end)
	  + (if ($o.demux | type) == "object" then $o.demux as $d
		| [["demux per frame: 65536 channels (1..N) / 1", "\($d.ns_per_frame_65536.median | fmt(1)) / \($d.ns_per_frame_1.median | fmt(1)) ns", ($d.ratio | rng(3)), "<= \($d.target.ratio_at_most)", ($d.pass | verdict)]]
		  + (if ($d.ratio_hashed | type) == "object" then [["the same, ids spread (hashed)", "\($d.ns_per_frame_65536_hashed.median | fmt(1)) / \($d.ns_per_frame_1.median | fmt(1)) ns", ($d.ratio_hashed | rng(3)), "-", "-"]] else [] end)
	    else [] end)
	| ("### bench_chan (channels), medians of \($o.reps // "?") interleaved repetitions", ""),
	  table(["", "A / B", "ratio median [min..max]", "target", "result"]; .),
	  (if ($o.latency | type) == "object" then
		($o.latency | def us: map(fmt(1)) | join(", ");
		 "Priority: p99 one-way latency in µs, jet perf --rate 1G --frame 9000 --latency, each run:", "",
		 table(["", "p99 µs"]; [["probes in class 7, with priority", (.with_prio.probe_p99_us | us)],
			["bulk (class 0) in those runs", (.with_prio.bulk_p99_us | us)],
			["probes in class 0, beside the bulk", (.without_prio.probe_p99_us | us)]]))
	   else empty end);
 if ($r.other | length) == 0 then "None ran.", "" else
 $r.other[]
 | if .name == "bench_chan" and (.exit | not) and (.output | type) == "object" then chan
   else "### \(.name)" + (if .exit then ": FAILED (exit \(.exit))" else "" end), "",
	(if .exit then "```", (.stderr // "" | rtrimstr("\n")), "```", ""
	 elif has("text") then "```", (.text | rtrimstr("\n")), "```", ""
	 elif (.output | rows_like) then .output | objtable
	 elif (.output | type) == "object" and ([.output[] | select(rows_like)] | length) >= 1 then
		(.output | to_entries | map(select(.value | rows_like | not))
			| if length > 0 then (map("\(.key)=\(.value | cell)") | join(", ")), "" else empty end),
		(.output | to_entries[] | select(.value | rows_like) | "`\(.key)`:", "", (.value | objtable))
	 else "```", (.output | tojson), "```", "" end)
   end end)
end
