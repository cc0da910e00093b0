#!/usr/bin/env bash
# Regenerates every held-out figure of docs/models.md and the bundles' READMEs with
# scripts/evaluation/evaluate.py: each segmentation bundle on fresh full-size phantoms (seed 6000,
# 10 cases, native spacing) of every scan protocol, bones also on older (osteoporotic) bone,
# hepatic arteries also at its 1 mm size, the bones threshold chosen on validation phantoms
# (seed 3000) first; the interactive bundles through scripts/evaluation/evaluate_interactive.py
# on the same phantoms. Then the protocol-shift table, next to the bundles before appearance
# randomisation when BEFORE names a folder holding them (e.g. a checkout of an older commit's
# mmar/). About 50 minutes on 2 cores once the phantoms are cached.
#
#   scripts/evaluation/evaluate_all.sh [path/to/lumen]          BEFORE=/path/to/old/mmar  (optional)
set -euo pipefail
cd "$(dirname "$0")/../.."
lumen=${1:-.build/debug/lumen}
py=$(scripts/env/setup_train_python | tail -n1)/bin/python   # torch, nibabel, scipy
cache=${LUMEN_EVAL_CACHE:-/tmp/lumen-eval-cache}
results=${LUMEN_EVAL_RESULTS:-$cache/results}
mkdir -p "$results"
run() { "$py" scripts/evaluation/evaluate.py --lumen "$lumen" --cache "$cache" "$@"; }
inter() { "$py" scripts/evaluation/evaluate_interactive.py --lumen "$lumen" --cache "$cache" "$@"; }

run --model mmar/bones --sweep-min-size 0,100,250,500,1000 --docs docs/models.md --docs mmar/bones/docs/README.md \
  --section bones --json "$results/bones_portal-venous.json"
run --model mmar/abdominal_organs --docs docs/models.md --docs mmar/abdominal_organs/docs/README.md \
  --section abdominal_organs --json "$results/abdominal_organs_portal-venous.json"
run --model mmar/hepatic_arteries --size medium --docs docs/models.md --docs mmar/hepatic_arteries/docs/README.md --section hepatic_arteries_medium
run --model mmar/hepatic_arteries --size full --docs docs/models.md --docs mmar/hepatic_arteries/docs/README.md --section hepatic_arteries_full
for protocol in non-contrast arterial delayed; do
  for model in abdominal_organs bones; do
    run --model "mmar/$model" --protocol "$protocol" --docs docs/models.md --section "${model}_${protocol}" \
      --json "$results/${model}_${protocol}.json"
  done
done
for protocol in non-contrast portal-venous; do
  run --model mmar/bones --protocol "$protocol" --bone-density older --docs docs/models.md \
    --section "bones_${protocol}_older" --json "$results/bones_${protocol}_older.json"
done
if [ -n "${BEFORE:-}" ]; then
  for model in abdominal_organs bones; do
    for protocol in non-contrast arterial portal-venous delayed; do
      [ -f "$results/before_${model}_${protocol}.json" ] || run --model "$BEFORE/$model" --protocol "$protocol" \
        --json "$results/before_${model}_${protocol}.json" >/dev/null
    done
  done
  for protocol in non-contrast portal-venous; do
    [ -f "$results/before_bones_${protocol}_older.json" ] || run --model "$BEFORE/bones" --protocol "$protocol" \
      --bone-density older --json "$results/before_bones_${protocol}_older.json" >/dev/null
  done
  for protocol in non-contrast arterial portal-venous delayed; do
    [ -f "$results/before_deepgrow_3d_${protocol}.json" ] || inter --model "$BEFORE/deepgrow_3d" --scan-protocol "$protocol" --structures liver,spleen \
      --json "$results/before_deepgrow_3d_${protocol}.json" >/dev/null
  done
fi
# The interactive bundles on the same full-size phantoms: deepgrow 3-D on every structure
# (portal-venous) and on liver and spleen, the targets' structures, in the other phases.
inter --model mmar/deepgrow_3d --docs docs/models.md --docs mmar/deepgrow_3d/docs/README.md \
  --section deepgrow_3d_full_portal-venous --json "$results/deepgrow_3d_portal-venous.json"
for protocol in non-contrast arterial delayed; do
  inter --model mmar/deepgrow_3d --scan-protocol "$protocol" --structures liver,spleen --docs docs/models.md \
    --docs mmar/deepgrow_3d/docs/README.md --section "deepgrow_3d_full_${protocol}" --json "$results/deepgrow_3d_${protocol}.json"
done
for model in deepgrow_2d dextr3d; do
  inter --model "mmar/$model" --docs docs/models.md --docs "mmar/$model/docs/README.md" --section "${model}_full_portal-venous" \
    --json "$results/${model}_portal-venous.json"
done
for protocol in non-contrast arterial delayed; do   # DExtr3D in the other phases: its row of the protocol-shift table
  inter --model mmar/dextr3d --scan-protocol "$protocol" --docs mmar/dextr3d/docs/README.md --section "dextr3d_full_${protocol}" \
    --json "$results/dextr3d_${protocol}.json"
done
"$py" scripts/evaluation/protocol_table.py "$results" docs/models.md
