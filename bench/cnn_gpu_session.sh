#!/usr/bin/env bash
# One GPU session of bench/cnn_gpu.py, sized to a lease of about ten minutes on a machine with
# JAX and no TensorFlow (as this project's lent H200 is). Run from the repository root:
#
#     bash bench/cnn_gpu_session.sh OUT_DIR [WHEELS_DIR] [FASHION_MNIST_DIR]
#
# WHEELS_DIR holds the keras, namex and optree wheels when the machine lacks Keras;
# FASHION_MNIST_DIR the four IDX .gz files when neither of keras_dl's offline places has them.
# In order: the networks of MODELS (default WRN-28-10 and ResNet-18) trained at once,
# mixed_bfloat16, each in its own process and fitted to end by TRAIN_END seconds after the
# start, early stopping on MONITOR (default val_accuracy: on the CPU, ResNet-18's validation
# loss turned up while its accuracy still rose; bench/RESULTS.md); then, alone on the GPU,
# ResNet-50 224x224 training throughput under each of PRECISIONS (default mixed_bfloat16,
# float32, mixed_float16: the two not yet measured first) until END.
# TRAIN_OPTS adds options to every training, e.g. TRAIN_OPTS="--optimizer momentum
# --learning-rate 0.1 --weight-decay 5e-3" (default: none, the zoo's Adam recipe; add
# "--augment flip,crop=4,erase" for Random Erasing on top of the zoo's flip and crop).
# The trainings come first because the quality bar needs them and a lease may end early. They
# write their JSON, epoch log and output into OUT_DIR; the throughput report goes to standard
# output (tee it).
set -uo pipefail
out=${1:?usage: bash bench/cnn_gpu_session.sh OUT_DIR [WHEELS_DIR] [FASHION_MNIST_DIR]}
wheels=${2:-}
fashion=${3:-}
TRAIN_END=${TRAIN_END:-430}
END=${END:-560}
# QUICK=1: a smoke run of the whole sequence (tiny ResNet-50 steps, --quick trainings)
if [ "${QUICK:-0}" = 1 ]; then
    tput=(--batch 4 --steps 2 --warmup 1 --image-size 64); train=(--quick)
else
    tput=(); train=()
fi
read -r -a extra <<< "${TRAIN_OPTS:-}"
train+=("${extra[@]}")
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
mkdir -p "$out"
if [ -n "$wheels" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/keras_site "$wheels"/*.whl || exit 1
    export PYTHONPATH=/tmp/keras_site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1
if [ -n "$fashion" ]; then
    mkdir -p ~/.keras/datasets/fashion-mnist && cp "$fashion"/*.gz ~/.keras/datasets/fashion-mnist/
fi
nvidia-smi -L
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"

models=${MODELS:-wrn28_10 resnet18}
monitor=${MONITOR:-val_accuracy}
budget=$(( TRAIN_END - $(elapsed) - 20 ))
echo "== $(elapsed) s: $models, mixed_bfloat16, monitor $monitor, budget ${budget} s each"
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.4
for model in $models; do
    timeout $(( TRAIN_END - $(elapsed) + 40 )) python3 bench/cnn_gpu.py train "$model" \
        --precision mixed_bfloat16 --monitor "$monitor" --budget "$budget" "${train[@]}" \
        --log "$out/$model.jsonl" \
        --output "$out/$model.json" > "$out/$model.txt" 2>&1 &
done
wait
for model in $models; do grep -v '^ \|^[{}]' "$out/$model.txt" | tail -4; done
unset XLA_PYTHON_CLIENT_MEM_FRACTION
precisions=${PRECISIONS:-mixed_bfloat16,float32,mixed_float16}
left=$(( END - $(elapsed) ))
if [ "$left" -ge 30 ]; then
    echo "== $(elapsed) s: resnet50 throughput, $precisions (until ${END} s)"
    timeout "$left" python3 bench/cnn_gpu.py throughput --precision "$precisions" "${tput[@]}" 2>&1
else
    echo "== $(elapsed) s: no time left for the resnet50 throughput"
fi

echo "== $(elapsed) s: done"
