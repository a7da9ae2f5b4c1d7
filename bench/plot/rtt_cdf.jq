# Adds "rtt_cdf" to a results.json of bench/run.sh: the round-trip time
# distribution of each protocol, from the ping-pong runs the suite already
# makes (no runs of its own):
#   raw     jet perf --proto raw --pingpong, 64-byte frames   .pingpong.pairs[].jet
#   ring    bench/ring_ref --pingpong, 64-byte frames          .pingpong.pairs[].ref
#   rbs     jet perf --proto rbs --pingpong -l 1               .rbs_vs_tcp.pingpong.pairs[].rbs
#   tcp     jet perf --proto tcp --pingpong -l 1               .tcp_vs_kernel.pingpong.pairs[].user
#   kernel  bench/tcp_ref --pingpong -l 1 (both sections)      ...pairs[].tcp and .kernel
# Each run's "rtt_us.cdf" (101 round-trip times in us, cdf[k] at quantile
# k/100: docs/perf-json.md) is combined over the runs quantile by quantile:
# us[k] = the median of the runs' cdf[k] (still ascending).  A run without
# "cdf" (an older jet) gives only its percentiles (min, p50, p90, p99, p999,
# max, those present): then every run is read that way and "exact" is false.
#   jq -f bench/plot/rtt_cdf.jq results.json
def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def exact: (.rtt_us.cdf | type) == "array" and (.rtt_us.cdf | length) == 101;
def keyq: [["min", 0], ["p50", 0.5], ["p90", 0.9], ["p99", 0.99], ["p999", 0.999], ["max", 1]];
def dist($runs): ($runs | map(select(type == "object" and (.rtt_us | type) == "object"))) as $r
	| if ($r | length) == 0 then {missing: "no ping-pong runs"}
	elif all($r[]; exact) then
		{exact: true, runs: ($r | length), quantiles: [range(0; 101) | . / 100],
		 us: ([$r[] | .rtt_us.cdf] | transpose | map(map(select(. != null)) | median))}
	else
		[keyq[] as [$k, $q] | [$q, ([$r[] | .rtt_us[$k] | select(type == "number")] | median)]
			| select(.[1] != null)] as $pts
		| {exact: false, runs: ($r | length), quantiles: ($pts | map(.[0])), us: ($pts | map(.[1]))}
	end;
. + {rtt_cdf: [
	{proto: "raw", label: "raw frames, \(.pingpong.frame // 64) B (LAN)"}
		+ dist([.pingpong.pairs[]?.jet]),
	{proto: "rbs", label: "RBS, \(.rbs_vs_tcp.pingpong.msg // 1) B (LAN)"}
		+ dist([.rbs_vs_tcp.pingpong.pairs[]?.rbs]),
	{proto: "tcp", label: "user TCP, 1 B (LAN)"}
		+ (if (.tcp_vs_kernel.pingpong | type) == "object" then dist([.tcp_vs_kernel.pingpong.pairs[]?.user])
		   else {missing: (.tcp_vs_kernel.skipped // "not measured")} end),
	{proto: "kernel", label: "kernel TCP, 1 B (loopback)"}
		+ dist([.rbs_vs_tcp.pingpong.pairs[]?.tcp, .tcp_vs_kernel.pingpong.pairs[]?.kernel]),
	{proto: "ring", label: "bare ring, \(.pingpong.frame // 64) B"}
		+ dist([.pingpong.pairs[]?.ref])
]}
