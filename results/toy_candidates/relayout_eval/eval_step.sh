#!/bin/bash
# eval_step.sh STEP: the inverted-from-f1 run's EMA snapshot at STEP, at its training length (4 sections),
# IAD and AD, 16 unseen seeds, one noise draw per clip; paired against the from-scratch natural-variance
# inverted at 8k and the v3 inverted at 16k (both one draw per clip, results/toy_noise/).
set -e
step=$1; here=results/toy_candidates/relayout_eval; root=runs/relayout_root$step
bash results/toy_candidates/relayout_eval/mkroot.sh runs/inverted-from-f1 $step $root inverted > /dev/null
.venv/bin/python results/toy_candidates/s3_step4000_eval/eval_probe.py $root $here/step$step.parquet \
    inverted/inverted_anti_drifting inverted/anti_drifting > $here/step$step.txt
for base in hp_step8000_inverted long_step16000; do
  .venv/bin/python results/toy_candidates/paired.py $here/step$step.parquet results/toy_noise/$base/table.parquet \
      > $here/step${step}_vs_$base.md
done
cat $here/step$step.txt
