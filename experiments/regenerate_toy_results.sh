#!/usr/bin/env bash
# Re-make every committed result that rests on the shipped toy organisms (fpkit/toy/checkpoints),
# after they change: the `fpkit toy eval` tables and contact sheets, the toy sweeps, the methods
# table, keyframes, the demo reference and the contact sheets in docs/img. Two jobs at a time, one
# per core (every sampler runs on one thread). Each step writes to runs/regen/<step> and replaces
# its committed folder only when it finished, so an interrupted run loses nothing committed.
#
#   experiments/regenerate_toy_results.sh              # every step (about 1.5 h on 2 idle cores)
#   experiments/regenerate_toy_results.sh eval demo    # some steps: eval sweeps methods keyframes demo
#   DRY=1 experiments/regenerate_toy_results.sh        # print the commands only
#   METHODS_ONLY=sampling_type=inverted_anti_drifting experiments/regenerate_toy_results.sh methods
#       # one organism changed: sample only its half of toy_methods (about half the time) and take the
#       # other half's rows from results/toy_methods by run id (experiments/merge_results.py)
#   EVAL_ONLY="inverted/inverted_anti_drifting inverted/anti_drifting" experiments/regenerate_toy_results.sh eval
#       # the same for the eval: sample only these variant/strategy pairs (one process each, two at a
#       # time) and take every other pair's rows from results/toy_eval/table.parquet
#
# Not covered (they need more than the shipped folders): results/toy_training (needs the runs'
# EMA snapshots: `fpkit toy curve`, docs/toy.md), the README screenshots (`python docs/screenshots.py`,
# needs the [browser] extra) and the figures quoted in README.md and docs/toy.md (read them off
# the new reports).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
STAGE=${STAGE:-runs/regen}
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(eval sweeps methods keyframes demo)
for s in "${STEPS[@]}"; do
  case $s in eval|sweeps|methods|keyframes|demo) ;; *) echo "unknown step '$s' (eval sweeps methods keyframes demo)" >&2; exit 2;; esac
done

run() { echo "+ $*"; [ -n "${DRY:-}" ] || "$@"; }
pair() {  # two commands side by side, one per core; fails if either fails
  echo "+ $1 & $2"
  [ -n "${DRY:-}" ] && return 0
  bash -c "$1" & local a=$!
  bash -c "$2" & local b=$!
  local rc=0; wait $a || rc=$?; wait $b || rc=$?
  return $rc
}
publish() {  # publish STAGED_DIR COMMITTED_DIR: replace the committed folder with the finished one
  run rm -rf "$2.old"
  [ -e "$2" ] && run mv "$2" "$2.old"
  run mv "$1" "$2"
  run rm -rf "$2.old"
}
for toml in experiments/toy_*.toml; do  # the rule of docs/toy.md "One noise draw": each clip its own draw
  grep -Eq '^seed = \[?"image"\]?' "$toml" || echo "warning: $toml does not set seed = \"image\" (one noise draw for every clip)" >&2
done
started=$(date +%s)
run mkdir -p "$STAGE"

for s in "${STEPS[@]}"; do
  echo "== $s ($(( $(date +%s) - started )) s)"
  case $s in
  eval)  # docs/toy.md "Results": 16 unseen seeds, 1x / 4x / 8x, one noise draw per clip
    run rm -rf "$STAGE/eval_a" "$STAGE/eval_b" "$STAGE/eval_kept" "$STAGE"/eval_only_* "$STAGE/toy_eval"
    if [ -n "${EVAL_ONLY:-}" ]; then  # some organisms changed: sample their pairs, keep the other rows
      read -r -a todo <<< "$EVAL_ONLY"
      tables=("$STAGE/eval_kept/table.parquet")
      run "$BIN/python" experiments/keep_eval_rows.py results/toy_eval/table.parquet "$STAGE/eval_kept/table.parquet" "${todo[@]}"
      cmds=()
      for p in "${todo[@]}"; do
        d="$STAGE/eval_only_${p//[^A-Za-z0-9]/_}"; tables+=("$d/table.parquet")
        cmds+=("$BIN/fpkit toy eval --only $p --no-progress --out $d")
      done
      while [ ${#cmds[@]} -ge 2 ]; do pair "${cmds[0]}" "${cmds[1]}"; cmds=("${cmds[@]:2}"); done
      [ ${#cmds[@]} -eq 1 ] && run bash -c "${cmds[0]}"
    else
      tables=("$STAGE/eval_a/table.parquet" "$STAGE/eval_b/table.parquet")
      pair "$BIN/fpkit toy eval --only f1/vanilla inverted/inverted_anti_drifting inverted/anti_drifting --no-progress --out $STAGE/eval_a" \
           "$BIN/fpkit toy eval --only f1+D/vanilla f1-h1/vanilla --no-progress --out $STAGE/eval_b"
    fi
    run "$BIN/fpkit" toy eval --reuse "${tables[@]}" --no-progress --out "$STAGE/toy_eval"
    publish "$STAGE/toy_eval" results/toy_eval
    run cp results/toy_eval/contact_1x.png docs/img/toy_contact_1x.png
    run cp results/toy_eval/contact_8x.png docs/img/toy_contact_8x.png
    ;;
  sweeps)  # README "Baseline comparison", notebook 04
    run rm -rf "$STAGE/toy_length_sweep" "$STAGE/toy_window_sweep" "$STAGE/toy_flow_shift_sweep"
    sweep() { echo "$BIN/fpkit run experiments/$1.toml --out $STAGE/$1 && $BIN/fpkit report $STAGE/$1"; }
    pair "$(sweep toy_length_sweep)" "$(sweep toy_window_sweep) && $(sweep toy_flow_shift_sweep)"
    for e in toy_length_sweep toy_window_sweep toy_flow_shift_sweep; do publish "$STAGE/$e" "results/$e"; done
    ;;
  methods)  # README "Anti-drifting methods", notebook 02: 1,344 runs, the grid sharded over two processes
    run rm -rf "$STAGE/toy_methods"
    only=(); [ -n "${METHODS_ONLY:-}" ] && only=(--only $METHODS_ONLY)
    run "$BIN/accelerate" launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no -m fpkit run experiments/toy_methods.toml --out "$STAGE/toy_methods" "${only[@]}"
    if [ -n "${METHODS_ONLY:-}" ]; then  # the other runs (unchanged run ids) from the committed folder
      run "$BIN/python" experiments/merge_results.py experiments/toy_methods.toml "$STAGE/toy_methods" results/toy_methods
    fi
    run "$BIN/fpkit" report "$STAGE/toy_methods"
    publish "$STAGE/toy_methods" results/toy_methods
    ;;
  keyframes)  # docs/toy.md "Keyframes"
    run rm -rf "$STAGE/toy_keyframes"
    run "$BIN/python" experiments/toy_keyframes.py --seeds 16 --sections 12 --every 16 --out "$STAGE/toy_keyframes"
    publish "$STAGE/toy_keyframes" results/toy_keyframes
    ;;
  demo)  # README "Baseline comparison": what `make demo` should reproduce
    run rm -rf "$STAGE/demo_reference"
    run "$BIN/fpkit" demo --out "$STAGE/demo_reference"
    publish "$STAGE/demo_reference" results/demo_reference
    ;;
  esac
done
echo "== done in $(( $(date +%s) - started )) s; now: git status results docs/img, update the figures in README.md and docs/toy.md"
