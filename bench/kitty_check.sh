#!/bin/sh
# Issue 18 by hand, in real terminals: mlflow-tui previews a PNG and a logged image (3 steps)
# in kitty, xterm (Sixel) or mlterm on a virtual X display, driven with xdotool; screenshots
# go to $OUT. Procedure, what to look at and the results: docs/verify-terminals.md.
#
#   sh bench/kitty_check.sh setup                # Debian packages, the server, the run
#   sh bench/kitty_check.sh kitty|xterm|mlterm   # start, a, enter on a file, screenshots, q
#   KITTY=/path/to/newer/kitty sh bench/kitty_check.sh kitty
#   sh bench/kitty_check.sh stop                 # the display and the server
#
# Needs root for apt-get; nothing here is a test dependency.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
OUT=${OUT:-/tmp/mlflow-tui-terminals}
PORT=${PORT:-5731}
DISPLAY_NO=${DISPLAY_NO:-57}
KITTY=${KITTY:-kitty}
export DISPLAY=:$DISPLAY_NO MLFLOW_DISABLE_TELEMETRY=true
mkdir -p "$OUT"

shot() { sleep "${2:-3}"; import -window root "$OUT/$1.png"; echo "$OUT/$1.png"; }
key() { xdotool key "$@"; }

case "${1:-}" in
setup)
    apt-get install -y -q kitty xterm mlterm xvfb xdotool imagemagick libgl1-mesa-dri >/dev/null
    setsid Xvfb ":$DISPLAY_NO" -screen 0 1400x900x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
    echo $! >"$OUT/xvfb.pid"
    setsid "$ROOT/.venv/bin/mlflow" server --host 127.0.0.1 --port "$PORT" --serve-artifacts \
        --backend-store-uri "sqlite:///$OUT/mlflow.db" --artifacts-destination "$OUT/artifacts" \
        --workers 1 >"$OUT/server.log" 2>&1 &
    echo $! >"$OUT/server.pid"
    for _ in $(seq 60); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
    # A run with a gradient PNG (1-pixel lines that half blocks cannot draw), a JPEG, and an
    # image logged at steps 0, 1, 2 (log_image(key=, step=), MLflow 3).
    "$PY" - "$PORT" "$OUT" <<'PYEOF'
import sys
import mlflow
import numpy as np
from PIL import Image, ImageDraw
port, out = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(f"http://127.0.0.1:{port}")
mlflow.set_experiment("kitty-check")
def picture(n):
    w, h = 320, 200
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    arr[..., 2] = 128
    im = Image.fromarray(arr)
    d = ImageDraw.Draw(im)
    d.ellipse((20 + 40 * n, 50, 120 + 40 * n, 150), fill=(255, 255, 255), outline=(0, 0, 0),
              width=3)
    for i in range(0, w, 8):
        d.line((i, 180, i, 199), fill=(0, 0, 0))
    d.text((10, 10), f"step {n}", fill=(0, 0, 0))
    return im
with mlflow.start_run(run_name="with-images"):
    for s in range(3):
        mlflow.log_metric("loss", 1.0 / (s + 1), step=s)
        mlflow.log_image(picture(s), key="sample", step=s)
    picture(0).save(f"{out}/gradient.png")
    mlflow.log_artifact(f"{out}/gradient.png")
    picture(1).save(f"{out}/photo.jpg", quality=90)
    mlflow.log_artifact(f"{out}/photo.jpg")
PYEOF
    ;;
kitty|xterm|mlterm)
    term=$1
    # Inside the terminal: the app, then its exit status and the tty's mode afterwards.
    cat >"$OUT/app.sh" <<APPEOF
#!/bin/sh
"$PY" -m mlflow_tui http://127.0.0.1:$PORT -e kitty-check
echo "exit=\$?" >"$OUT/exit.txt"
stty -a >"$OUT/stty-after.txt"
exec sh
APPEOF
    chmod +x "$OUT/app.sh"
    case $term in
    kitty) LIBGL_ALWAYS_SOFTWARE=1 MESA_GL_VERSION_OVERRIDE=3.3 setsid "$KITTY" -o font_size=11 \
               -o remember_window_size=no -o initial_window_width=1000 \
               -o initial_window_height=640 "$OUT/app.sh" >"$OUT/kitty.log" 2>&1 & ;;
    xterm) setsid xterm -ti vt340 -geometry 130x40+0+0 -fa Monospace -fs 10 \
               -xrm 'XTerm*decTerminalID: vt340' -xrm 'XTerm*numColorRegisters: 256' \
               -e "$OUT/app.sh" >"$OUT/xterm.log" 2>&1 & ;;
    mlterm) setsid mlterm --geometry 120x36 -e "$OUT/app.sh" >"$OUT/mlterm.log" 2>&1 & ;;
    esac
    echo $! >"$OUT/$term.pid"
    sleep 12
    window=$(xdotool search --class "$term" | head -1)
    xdotool windowfocus "$window"
    shot "$term-1-start" 0                         # no stray characters, no help screen
    key a; shot "$term-2-artifacts"
    key Down; sleep 0.5; key Return; shot "$term-3-png"    # gradient.png
    key Up; sleep 0.5; key Return; sleep 2; key Down; sleep 0.5; key Return
    shot "$term-4-step2"                           # images/sample, the last step
    key bracketleft; shot "$term-5-step1"          # [ : the step before
    key Escape; shot "$term-6-monitor"             # no image left behind
    key a; sleep 2; key Down; key Down; key Down; sleep 0.5; key Return; shot "$term-7-again"
    xdotool windowsize "$window" 640 420; shot "$term-8-small"    # redrawn smaller
    xdotool windowsize "$window" 1000 640; shot "$term-9-large"
    key q; sleep 3
    cat "$OUT/exit.txt"
    grep -o -E -- '-?(icanon|echo|isig|icrnl|opost|onlcr)\b' "$OUT/stty-after.txt" | tr '\n' ' '
    echo
    kill "$(cat "$OUT/$term.pid")" 2>/dev/null || true
    ;;
stop)
    for name in server xvfb; do
        [ -f "$OUT/$name.pid" ] && kill "$(cat "$OUT/$name.pid")" 2>/dev/null || true
    done
    ;;
*) sed -n '2,12p' "$0"; exit 2 ;;
esac
