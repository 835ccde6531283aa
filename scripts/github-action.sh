#!/usr/bin/env bash
# The steps of holdfast's GitHub Action (action.yml), kept here so they can be read and tested.
#
#   github-action.sh install   create a virtualenv in $RUNNER_TEMP and install holdfast into it
#                              from the action's own checkout ($GITHUB_ACTION_PATH)
#   github-action.sh lint      run `holdfast lint` with the action's inputs (INPUT_* variables)
#
# The virtualenv is never put on PATH, so the workflow's own `python` and `pip` stay untouched.
# `lint` exits with holdfast's exit code (0 nothing at or above the fail level, 1 findings,
# 2 usage or configuration error) and writes `exit-code` and `sarif-file` to $GITHUB_OUTPUT.
set -euo pipefail

# A problem of the action itself: an annotation, and exit code 2 like holdfast's own errors.
fail() {
    echo "::error title=holdfast action::$*"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "exit-code=2" >>"$GITHUB_OUTPUT"
    fi
    exit 2
}

[ -n "${RUNNER_TEMP:-}" ] || fail "RUNNER_TEMP is not set (this script runs inside GitHub Actions)"
VENV="$RUNNER_TEMP/holdfast-venv"

# Set PROGRAM to the path of $1 inside the virtualenv (bin/ on Linux and macOS, Scripts/ on Windows).
find_program() {
    if [ -e "$VENV/bin/$1" ]; then
        PROGRAM="$VENV/bin/$1"
    elif [ -e "$VENV/Scripts/$1.exe" ]; then
        PROGRAM="$VENV/Scripts/$1.exe"
    else
        fail "$1 not found in $VENV (did the install step run?)"
    fi
}

install() {
    local python
    [ -n "${GITHUB_ACTION_PATH:-}" ] || fail "GITHUB_ACTION_PATH is not set"
    python="$(command -v python3 || command -v python || true)"
    [ -n "$python" ] || fail "no python3 on PATH: add actions/setup-python (Python 3.10 or newer) before this action"
    "$python" -m venv "$VENV" || fail "could not create a virtualenv with $python"
    find_program python
    "$PROGRAM" -m pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH" \
        || fail "could not install holdfast from $GITHUB_ACTION_PATH"
    find_program holdfast
    "$PROGRAM" --version
}

# Split $1 into words like a POSIX shell would (quotes respected; no variables, no globbing)
# and write them to the file $WORDS, each followed by a NUL byte.
split_words() {
    find_program python
    "$PROGRAM" -c 'import shlex, sys
try:
    words = shlex.split(sys.argv[1])
except ValueError as exc:
    sys.exit(f"{exc}: {sys.argv[1]}")
sys.stdout.write("".join(word + "\0" for word in words))' "$1" >"$WORDS" || fail "cannot split into words: $1"
}

lint() {
    local holdfast format fail_level sarif word rc=0 sarif_rc=0
    local -a paths=() args=()
    format="${INPUT_FORMAT:-github}"
    fail_level="${INPUT_FAIL_LEVEL:-error}"
    sarif="${INPUT_SARIF_FILE:-}"
    WORDS="$(mktemp)"
    trap 'rm -f "$WORDS"' EXIT
    split_words "${INPUT_PATHS:-.}"
    while IFS= read -r -d '' word; do paths+=("$word"); done <"$WORDS"
    split_words "${INPUT_ARGS:-}"
    while IFS= read -r -d '' word; do args+=("$word"); done <"$WORDS"
    [ "${#paths[@]}" -gt 0 ] || paths=(.)
    find_program holdfast
    holdfast="$PROGRAM"

    # Annotations name files relative to the repository root.
    cd "${GITHUB_WORKSPACE:-.}"

    # The report on the log. The extra arguments come last, so they can override the inputs.
    "$holdfast" lint --format "$format" --fail-level "$fail_level" ${args[@]+"${args[@]}"} -- "${paths[@]}" || rc=$?

    # The SARIF file for code scanning: the same findings whatever the fail level.
    if [ -n "$sarif" ]; then
        if mkdir -p "$(dirname "$sarif")"; then
            "$holdfast" lint ${args[@]+"${args[@]}"} --format sarif --output "$sarif" --exit-zero -- "${paths[@]}" || sarif_rc=$?
        else
            sarif_rc=2
        fi
        if [ "$sarif_rc" -ne 0 ]; then
            echo "::error title=holdfast action::could not write the SARIF report $sarif (exit code $sarif_rc)"
            rc=2
        fi
    fi

    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "exit-code=$rc" >>"$GITHUB_OUTPUT"
        if [ -n "$sarif" ] && [ "$sarif_rc" -eq 0 ]; then
            echo "sarif-file=$sarif" >>"$GITHUB_OUTPUT"
        fi
    fi
    return "$rc"
}

case "${1:-}" in
    install) install ;;
    lint) lint ;;
    *)
        echo "usage: $0 install|lint" >&2
        exit 2
        ;;
esac
