#!/usr/bin/env bash
# Create (or reuse) the pinned virtual environment for mmseg-cobra.
#
# The environment lives outside the checkout, in
#   ${COBRA_ENV_ROOT:-$HOME/.cache/mmseg-cobra}/venv-<hash>
# where <hash> is taken from requirements/lock.txt and this script, so every
# clean clone on the same machine reuses it, and changing a pin builds a new
# one. mmcv 2.1.0 is compiled from source with its ops against the pinned torch;
# the built wheel is cached under ${COBRA_ENV_ROOT}/wheels/torch-<version>/ so a
# new environment with the same torch does not compile it again.
#
# Prints the environment's path on the last line of stdout.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock="$repo/requirements/lock.txt"
build_reqs="$repo/requirements/build.txt"
root="${COBRA_ENV_ROOT:-$HOME/.cache/mmseg-cobra}"
python_bin="${COBRA_PYTHON:-python3.11}"

hash=$(cat "$lock" "$build_reqs" "$repo/tools/setup_env.sh" | sha256sum | cut -c1-12)
venv="$root/venv-$hash"

log() { echo "[setup_env] $*" >&2; }

verify() {
    "$1/bin/python" - <<'PY' >&2
import importlib
import sys

failed = []
for mod in ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmseg.models',
            'mmpretrain.models', 'pydensecrf.densecrf', 'cv2', 'pycocotools.mask'):
    try:
        importlib.import_module(mod)
    except Exception as exc:  # noqa: BLE001 - report every broken module
        failed.append(f'{mod}: {exc!r}')
if not failed:
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    try:
        nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    except Exception as exc:  # noqa: BLE001
        failed.append(f'mmcv.ops.nms does not run: {exc!r}')
if failed:
    print('environment check FAILED:\n  ' + '\n  '.join(failed), file=sys.stderr)
    sys.exit(1)
import mmcv, mmseg, mmpretrain, mmengine, torch
print(f'environment OK: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), '
      f'mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, pydensecrf')
PY
}

if [[ -f "$venv/.ready" ]]; then
    log "reusing $venv"
    verify "$venv"
    echo "$venv"
    exit 0
fi

command -v "$python_bin" >/dev/null || { log "need $python_bin (set COBRA_PYTHON)"; exit 1; }
mkdir -p "$root"
# One builder at a time per environment; a half-built one (no .ready) is redone.
exec 9>"$venv.lock"
flock 9
if [[ -f "$venv/.ready" ]]; then verify "$venv"; echo "$venv"; exit 0; fi
rm -rf "$venv"
log "creating $venv (first time on this machine: about 15 minutes, mmcv is compiled)"
"$python_bin" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

pin() { grep -E "^$1==" "$lock" | head -n1; }
torch_pin=$(pin torch); tv_pin=$(pin torchvision); mmcv_pin=$(pin mmcv)
[[ -n "$torch_pin" && -n "$tv_pin" && -n "$mmcv_pin" ]] || { log "lock file lacks torch/torchvision/mmcv pins"; exit 1; }

# torch first: it pulls a new setuptools, and mmcv's setup.py needs the
# pkg_resources of setuptools < 70 (build.txt)
"${pip[@]}" install -q "$torch_pin" "$tv_pin"
"${pip[@]}" install -q -r "$build_reqs"

torch_version=${torch_pin#torch==}
wheels="$root/wheels/torch-$torch_version"
if ! ls "$wheels"/mmcv-*.whl >/dev/null 2>&1; then
    log "compiling $mmcv_pin with ops against torch $torch_version (about 12 minutes on 2 cores)"
    src="$root/src.$$"
    rm -rf "$wheels.partial" "$src" && mkdir -p "$wheels.partial" "$src"
    "${pip[@]}" download -q --no-deps --no-build-isolation --no-binary :all: \
        "$mmcv_pin" -d "$src"
    tar -xzf "$src"/mmcv-*.tar.gz -C "$src"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0's setup.py forces C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$src"/mmcv-*/setup.py
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${pip[@]}" wheel -q --no-deps \
        --no-build-isolation --no-cache-dir "$src"/mmcv-*/ -w "$wheels.partial"
    rm -rf "$wheels" "$src" && mv "$wheels.partial" "$wheels"
fi
"${pip[@]}" install -q --no-deps "$wheels"/mmcv-*.whl

# Everything else, exactly as locked. --no-deps: the lock is complete, and
# mmcv/mmengine would otherwise pull opencv-python (needs libGL) next to the
# headless build we pin.
"${pip[@]}" install -q --no-deps -r "$lock"

verify "$venv"
touch "$venv/.ready"
log "ready: $venv"
echo "$venv"
