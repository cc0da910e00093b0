#!/usr/bin/env bash
# Regenerates every held-out figure of docs/models.md and the bundles' READMEs with
# scripts/evaluation/evaluate.py: each segmentation bundle on fresh full-size phantoms (seed 6000, 10 cases,
# native spacing) of every scan protocol, hepatic arteries also at its 1 mm size, the bones
# threshold chosen on validation phantoms (seed 3000) first. About 40 minutes on 2 cores.
#
#   scripts/evaluation/evaluate_all.sh [path/to/lumen]
set -euo pipefail
cd "$(dirname "$0")/../.."
lumen=${1:-.build/debug/lumen}
py=$(scripts/env/setup_train_python | tail -n1)/bin/python   # torch, nibabel, scipy
cache=${LUMEN_EVAL_CACHE:-/tmp/lumen-eval-cache}
run() { "$py" scripts/evaluation/evaluate.py --lumen "$lumen" --cache "$cache" "$@"; }

run --model mmar/bones --sweep-min-size 0,100,250,500,1000 --docs docs/models.md --docs mmar/bones/docs/README.md --section bones
run --model mmar/abdominal_organs --docs docs/models.md --docs mmar/abdominal_organs/docs/README.md --section abdominal_organs
run --model mmar/hepatic_arteries --size medium --docs docs/models.md --docs mmar/hepatic_arteries/docs/README.md --section hepatic_arteries_medium
run --model mmar/hepatic_arteries --size full --docs docs/models.md --docs mmar/hepatic_arteries/docs/README.md --section hepatic_arteries_full
for protocol in non-contrast arterial delayed; do
  for model in abdominal_organs bones; do
    run --model "mmar/$model" --protocol "$protocol" --docs docs/models.md --section "${model}_${protocol}"
  done
done
