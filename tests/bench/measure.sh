# shellcheck shell=bash disable=SC2154,SC2034  # $dir, $gb are scripts/bench's; it reads the arrays
# Measuring one leg of scripts/bench (sourced by it) and the table of figures it prints at the
# end. One benchmark per shell: the results live in the global arrays below, by leg label.
# Needs: $dir (the benchmark's directory), $EVENTS (the current node's bin/dss record).

declare -A WALL RSS DOWN CMD  # seconds, KiB, seconds of DSS stopped, the command
declare -A RUNS               # every successful run of a label: "wall:rss:down ..."
declare -A ADDED              # bytes a leg added to its repository (measure_added)
FAILED=()                     # labels of the legs that failed
FIGURES=()                    # name, value, unit, target, labels: separated by \x1f (unit separator), in order

# downtime N: seconds DSS was stopped, from the sample bin/dss's record of its stops and starts
# after line N (the last stop-to-start gap: a leg stops DSS once).
downtime() {
  awk -v n="$1" 'NR>n && $2=="stop"{s=$1} NR>n && $2=="start" && s{d=$1-s} END{printf "%.2f", d+0}' "$EVENTS"
}

# measure LABEL COMMAND: runs COMMAND with bash under /usr/bin/time and records its wall time,
# the peak RSS of its biggest process (GNU time's %M: getrusage of the children) and how long
# DSS was stopped meanwhile. Output goes to $dir/out.LABEL and $dir/err.LABEL. A failing leg
# is recorded ("-" figures, named at the end) and the benchmark goes on; returns 1.
measure() {
  local label=$1 command=$2 before status=0
  CMD[$label]=$command
  before=$(wc -l < "$EVENTS")
  # What the previous leg wrote is flushed first, not on this leg's time (2 cores: the
  # kernel's writeback would take CPU from it).
  sync
  /usr/bin/time -f "%e %M" -o "$dir/time.$label" bash -c "$command" \
    > "$dir/out.$label" 2> "$dir/err.$label" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "leg $label failed (exit $status): $command" >&2
    tail -5 "$dir/err.$label" >&2
    WALL[$label]=- RSS[$label]=- DOWN[$label]=-
    FAILED+=("$label")
    return 1
  fi
  local wall rss
  read -r wall rss < <(tail -1 "$dir/time.$label")
  WALL[$label]=$wall RSS[$label]=$rss DOWN[$label]=$(downtime "$before")
  RUNS[$label]="${RUNS[$label]:-} $wall:$rss:${DOWN[$label]}"
}

# measure_added LABEL REPOSITORY COMMAND: measure, and how many bytes the leg added to the
# repository (a folder); failures as measure.
measure_added() {
  local before status=0
  before=$(bytes_of "$2")
  measure "$1" "$3" || status=1
  ADDED[$1]=$(( $(bytes_of "$2") - before ))
  return $status
}

# measure_best N LABEL COMMAND: the fastest of N runs (a leg of a fraction of a second is at
# the mercy of whatever else this machine runs). $attempt (1..N) tells COMMAND which run it is.
measure_best() {
  local runs=$1 label=$2 wall=- rss=- down=- status=1
  for ((attempt = 1; attempt <= runs; attempt++)); do
    export attempt
    measure "$label" "$3" || continue
    status=0
    if [ "$wall" = - ] || awk -v a="${WALL[$label]}" -v b="$wall" 'BEGIN{exit !(a < b)}'; then
      wall=${WALL[$label]} rss=${RSS[$label]} down=${DOWN[$label]}
    fi
  done
  WALL[$label]=$wall RSS[$label]=$rss DOWN[$label]=$down
  return $status
}

# take_median LABEL: the figures of the run of median wall time among the runs of LABEL so
# far (measure keeps them all): for the legs of several seconds a ratio stands on, run in
# turn with the leg they are compared with, where one run may meet a busy moment of the
# machine and the best run would flatter.
take_median() {
  local label=$1 runs median
  read -r -a runs <<< "${RUNS[$label]:-}"
  [ "${#runs[@]}" -gt 0 ] || return 1
  median=$(printf '%s\n' "${runs[@]}" | sort -t: -k1 -g | sed -n "$(( (${#runs[@]} + 1) / 2 ))p")
  IFS=: read -r "WALL[$label]" "RSS[$label]" "DOWN[$label]" <<< "$median"
}

is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
# x / y with 3 decimals, or "-" when either is missing or y is 0.
ratio() {
  if ! is_number "$1" || ! is_number "$2"; then echo -; return; fi
  awk -v x="$1" -v y="$2" 'BEGIN{ if (y > 0) printf "%.3f", x / y; else print "-" }'
}
mb() { if is_number "$1"; then awk -v k="$1" 'BEGIN{printf "%.1f", k * 1024 / 1e6}'; else echo -; fi; }  # KiB -> MB
mib() { if is_number "$1"; then awk -v b="$1" 'BEGIN{printf "%.1f", b / 1048576}'; else echo -; fi; }   # bytes -> MiB
bytes_of() { { du -sb "$1" 2>/dev/null || echo 0; } | cut -f1; }  # 0: not there (yet)

# fig NAME VALUE UNIT TARGET LABELS: one row of the final table. TARGET is "<= X", ">= X", "< X"
# or "" (reported for information); LABELS are the legs whose commands produced the value.
fig() { FIGURES+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"); }

met() {  # value target -> yes | NO | "" (no target or no value)
  local value=$1 op=${2%% *} bound=${2#* }
  [ -n "$2" ] && is_number "$value" || return 0
  awk -v v="$value" -v b="$bound" -v op="$op" 'BEGIN{
    ok = (op == "<=" && v <= b) || (op == ">=" && v >= b) || (op == "<" && v < b) || (op == ">" && v > b)
    print (ok ? "yes" : "NO") }'
}

print_figures() {
  local row name value unit target labels label
  local -A shown=()
  printf '\n%-58s %12s %-6s %-8s %-4s %s\n' "figure" "value" "unit" "target" "met" "legs"
  for row in "${FIGURES[@]}"; do
    IFS=$'\x1f' read -r name value unit target labels <<< "$row"
    printf '%-58s %12s %-6s %-8s %-4s %s\n' "$name" "$value" "$unit" "$target" "$(met "$value" "$target")" "$labels"
  done
  echo
  echo "commands (run by bash; dir=$dir; \$gb = $gb):"
  for row in "${FIGURES[@]}"; do
    IFS=$'\x1f' read -r _ _ _ _ labels <<< "$row"
    for label in $labels; do
      if [ -z "${CMD[$label]:-}" ] || [ -n "${shown[$label]:-}" ]; then continue; fi
      shown[$label]=1
      local command=${CMD[$label]//"$gb"/\$gb}
      printf '  %-6s %s\n' "$label" "${command//"$dir"/\$dir}"
    done
  done
  if [ ${#FAILED[@]} -gt 0 ]; then
    echo "FAILED legs: ${FAILED[*]} (their output: $dir/err.<leg>)"
    return 1
  fi
}
