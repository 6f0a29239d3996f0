#!/usr/bin/env bash
# Reruns the measurements of docs/results.md, each as JSON lines (one record
# a run, see docs/cli.md) in OUT/SET.jsonl, with the command line built from
# this checkout. Usage:
#   docs/measure.sh nine OUT          the nine sets: the default under a budget
#                                     against the old default and every
#                                     gradient method (5 seeds; the patches
#                                     with 3; yearlike against Adam only)
#   docs/measure.sh validate OUT      the same sets, every method with
#                                     +validate (yearlike: the strategy and
#                                     Adam)
#   docs/measure.sh subsets OUT       abalone, bike, the SDF, sinx2, teacher
#                                     and shape-sdf cut with -rows 600, 1000
#                                     and 1500, h = 32, 2 s: the
#                                     strategy, every arm it races and every
#                                     gradient method, 5 seeds
#   docs/measure.sh subsets-validate OUT  the same, every method with
#                                     +validate
#   docs/measure.sh family H OUT      the development family (the CSV files of
#                                     $RELUNET_DEV, default ../shared/datasets/
#                                     uci-dev) with H hidden units, 3 seeds
#   docs/measure.sh gradient H OUT    the same family and H: the strategy and
#                                     every gradient method, 5 seeds from 4900
#   docs/measure.sh large H OUT       the large-rows family (six synthetic sets
#                                     of 20,000 to 45,000 rows that
#                                     docs/large-family.py writes; needs
#                                     numpy) with H hidden units, 10 s: the
#                                     strategy, every arm it races, the two
#                                     balanced variants and every gradient
#                                     method, 3 seeds
#   docs/measure.sh large-validate H OUT  the same sets: the strategy
#                                     and every gradient method, each with
#                                     +validate
#   docs/measure.sh alone OUT         where no race fits: 25 pairs of a
#                                     development set and h = 64 or 128 at a
#                                     quarter, half or all of its budget, and
#                                     the large-rows family at h = 128, 5 s:
#                                     the strategy and every fixed variant,
#                                     3 seeds from 7100
# A budget is wall time: run on an otherwise idle machine, and expect the
# numbers to move by about the spread the tables show.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:?usage: docs/measure.sh nine|validate|subsets|subsets-validate|alone OUT|family|gradient|large|large-validate H OUT}"
shift
bin="$(mktemp -d)/relunet"
(cd "$root" && go build -o "$bin" ./cmd/relunet)
compare() { local out="$1" name="$2"; shift 2; "$bin" compare -data "$name" -json "$@" >"$out/$(basename "$name" .csv).jsonl"; }
gradient="sgd,adam,lbfgs,lm"
validated="analytic+auto+validate,sgd+validate,adam+validate,lbfgs+validate,lm+validate"
# nine OUT LABELS YEAR: the nine sets, each with its budget, LABELS on all but
# yearlike, YEAR on yearlike.
nine() {
	local out="$1" labels="$2" year="$3"; mkdir -p "$out"
	for spec in abalone:2 bike:5 sdf:5 sinx2:2 teacher:2 shape-sdf:2 sin:1; do
		compare "$out" "${spec%%:*}" -runs 5 -budget "${spec##*:}" -methods "$labels"
	done
	compare "$out" patches -runs 3 -budget 30 -methods "$labels"
	compare "$out" yearlike -hidden 64 -split fixed -runs 5 -budget 40 -methods "$year"
}
# dev H OUT RUNS SEED LABELS: the development family with H hidden units, each
# set with its budget, seeds SEED … SEED+RUNS-1.
dev() {
	local h="$1" out="$2" runs="$3" seed="$4" labels="$5" f rows b; mkdir -p "$out"
	for f in "${RELUNET_DEV:-$root/../shared/datasets/uci-dev}"/*.csv; do
		rows=$(wc -l <"$f")
		b=2; [ "$rows" -ge 2000 ] && b=5; [ "$rows" -ge 20000 ] && b=10
		compare "$out" "$f" -hidden "$h" -runs "$runs" -seed "$seed" -budget "$b" -methods "$labels"
	done
}
# The strategy and the fixed variants of the family's tables (at h = 32 and in
# the large-rows family, $more too).
analytic="analytic+auto,analytic+safeguard+datainit+restarts,analytic+damping=0.01+datainit+restarts,analytic+damping=0.001+datainit+restarts"
analytic="$analytic,analytic+damping=0.01+balance+datainit+restarts,analytic+damping=0.001+balance+datainit+restarts"
more="analytic+datainit+explore+restarts,analytic+damping=0.0001+datainit+restarts"
case "$what" in
nine)
	nine "${1:?OUT}" "analytic+auto,analytic+safeguard+datainit+restarts,$gradient" "analytic+auto,analytic+safeguard+datainit+restarts,adam"
	;;
validate)
	nine "${1:?OUT}" "$validated" "analytic+auto+validate,adam+validate"
	;;
subsets | subsets-validate)
	out="${1:?OUT}"; mkdir -p "$out"
	labels="analytic+auto,analytic+safeguard+datainit+restarts,analytic+damping=0.01+datainit+restarts,analytic+damping=0.001+datainit+restarts"
	labels="$labels,analytic+damping=0.0001+datainit+restarts,analytic+datainit+explore+restarts,$gradient"
	[ "$what" = subsets-validate ] && labels="$validated"
	for name in abalone bike sdf sinx2 teacher shape-sdf; do
		for rows in 600 1000 1500; do
			"$bin" compare -data "$name" -rows "$rows" -json -runs 5 -budget 2 -methods "$labels" >"$out/$name-$rows.jsonl"
		done
	done
	;;
family)
	labels="$analytic"
	[ "${1:?H}" = 32 ] && labels="$labels,$more,sgd,lm"
	dev "$1" "${2:?OUT}" 3 0 "$labels,adam,lbfgs"
	;;
gradient)
	dev "${1:?H}" "${2:?OUT}" 5 4900 "analytic+auto,$gradient"
	;;
large | large-validate)
	sets="$(dirname "$bin")/large"
	python3 "$root/docs/large-family.py" "$sets"
	labels="$analytic,$more,sgd,lm,adam,lbfgs"
	[ "$what" = large-validate ] && labels="$validated"
	RELUNET_DEV="$sets" dev "${1:?H}" "${2:?OUT}" 3 0 "$labels"
	;;
alone)
	# The pairs and budgets where a probe (one seed, 7000) found the strategy
	# running its first arm alone.
	out="${1:?OUT}"; mkdir -p "$out"
	sets="$(dirname "$bin")/large"
	python3 "$root/docs/large-family.py" "$sets"
	dir="${RELUNET_DEV:-$root/../shared/datasets/uci-dev}"
	labels="analytic+auto,analytic+safeguard+datainit+restarts,analytic+damping=0.01+datainit+restarts"
	labels="$labels,analytic+damping=0.001+datainit+restarts,analytic+damping=0.0001+datainit+restarts"
	labels="$labels,analytic+datainit+explore+restarts,analytic+damping=0.01+balance+datainit+restarts"
	labels="$labels,analytic+damping=0.001+balance+datainit+restarts"
	for c in gas:64:1.25 gas:64:2.5 parkinsons:64:1.25 pol:64:1.25 pol:64:2.5 skillcraft:64:1.25 sml:64:1.25 wine:64:0.5 \
		gas:128:1.25 gas:128:2.5 parkinsons:128:1.25 parkinsons:128:2.5 parkinsons:128:5 pendulum:128:0.5 \
		pol:128:1.25 pol:128:2.5 pol:128:5 skillcraft:128:1.25 skillcraft:128:2.5 skillcraft:128:5 \
		sml:128:1.25 sml:128:2.5 sml:128:5 wine:128:0.5 wine:128:1; do
		IFS=: read -r name h b <<<"$c"
		"$bin" compare -data "$dir/$name.csv" -hidden "$h" -runs 3 -seed 7100 -budget "$b" -methods "$labels" -json >>"$out/alone.jsonl"
	done
	for f in "$sets"/*.csv; do
		"$bin" compare -data "$f" -hidden 128 -runs 3 -seed 7100 -budget 5 -methods "$labels" -json >>"$out/alone.jsonl"
	done
	;;
*)
	echo "docs/measure.sh: no measurement $what" >&2; exit 2 ;;
esac
