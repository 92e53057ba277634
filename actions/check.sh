#!/usr/bin/env bash
# The kepguard action's check step. Makes sure the commits the event names are in the clone
# (deepening a shallow clone a bounded number of times), then runs `kepguard check --github`.
#
# Environment: KEPGUARD (the binary), INPUT_BASE, INPUT_HEAD, INPUT_FAIL_ON, INPUT_ANNOTATIONS,
# INPUT_SUMMARY, INPUT_SARIF_FILE, and the runner's GITHUB_EVENT_NAME, GITHUB_EVENT_PATH,
# GITHUB_OUTPUT, GITHUB_STEP_SUMMARY.
set -euo pipefail

kepguard=${KEPGUARD:-kepguard}
output=${GITHUB_OUTPUT:-/dev/null}
# Each attempt fetches this many commits of history behind the range's ends.
read -r -a depths <<<"${KEPGUARD_DEEPEN_DEPTHS:-50 500 5000}"

fail() {
    echo "::error title=kepguard::$*"
    exit 2
}

bool() {
    case "$2" in
    true | false) ;;
    *) fail "input \`$1\` must be true or false, not \`$2\`" ;;
    esac
}
bool annotations "${INPUT_ANNOTATIONS:-true}"
bool summary "${INPUT_SUMMARY:-true}"
# The path is echoed into $GITHUB_OUTPUT, where a line break would add outputs of its own.
case "${INPUT_SARIF_FILE:-}" in
*$'\n'* | *$'\r'*) fail "input \`sarif-file\` must be one line" ;;
esac

range_args=(--github)
[ -z "${INPUT_BASE:-}" ] || range_args+=(--base "$INPUT_BASE")
[ -z "${INPUT_HEAD:-}" ] || range_args+=(--head "$INPUT_HEAD")

# `merge-base BASE HEAD` or `parent HEAD`, as the event (or base/head) names them.
range=$("$kepguard" check "${range_args[@]}" --print-range) || exit 2
read -r kind first second <<<"$range"

present() { git cat-file -e "$1^{commit}" 2>/dev/null; }
shallow() { [ "$(git rev-parse --is-shallow-repository)" = true ]; }
# A commit at the shallow boundary: its parents were cut off by the clone.
cut_off() { grep -qx "$(git rev-parse "$1")" "$(git rev-parse --git-path shallow)" 2>/dev/null; }

ready() {
    case $kind in
    merge-base)
        present "$first" && present "$second" &&
            { ! shallow || git merge-base "$first" "$second" >/dev/null 2>&1; }
        ;;
    parent)
        present "$first" && { ! shallow || ! cut_off "$first"; }
        ;;
    esac
}

# Commits named by id can be fetched by id; names (such as origin/main) are fetched by their refs.
wants=()
for rev in $first ${second:-}; do
    if [[ $rev =~ ^[0-9a-f]{40}$ ]]; then
        wants+=("$rev")
    elif [[ $rev == origin/* ]] && ! present "$rev"; then
        # The default branch a new branch left, fetched by its ref.
        wants+=("+refs/heads/${rev#origin/}:refs/remotes/$rev")
    fi
done

for depth in "${depths[@]}"; do
    ready && break
    if [ ${#wants[@]} -eq 0 ]; then
        break
    fi
    echo "kepguard: fetching up to $depth commits behind ${wants[*]} to reach the range"
    git fetch --quiet --no-tags --depth="$depth" origin "${wants[@]}" ||
        fail "cannot fetch ${wants[*]} from origin: use \`fetch-depth: 0\` with actions/checkout"
done
if ! ready; then
    case $kind in
    merge-base) what="the merge-base of $first and $second" ;;
    parent) what="the parent of $first" ;;
    esac
    fail "$what is not in the clone after deepening it ${#depths[@]} times (to ${depths[${#depths[@]} - 1]} commits): use \`fetch-depth: 0\` with actions/checkout"
fi

args=(check "${range_args[@]}" --fail-on "${INPUT_FAIL_ON:-error}" --github-output "$output")
if [ "${INPUT_ANNOTATIONS:-true}" = true ]; then
    args+=(--format github)
else
    args+=(--format human)
fi
if [ "${INPUT_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    args+=(--summary "$GITHUB_STEP_SUMMARY")
fi
if [ -n "${INPUT_SARIF_FILE:-}" ]; then
    # Given as written: kepguard refuses symbolic links on every step of a relative path, which
    # lies in the checkout. The output is the absolute path.
    args+=(--sarif-file "$INPUT_SARIF_FILE")
    sarif=$INPUT_SARIF_FILE
    [[ $sarif = /* ]] || sarif=$PWD/$sarif
fi

status=0
"$kepguard" "${args[@]}" || status=$?
# Exit code 2 is bad input, a refused path among it: whatever is there is not this run's SARIF.
if [ -n "${sarif:-}" ] && [ "$status" -ne 2 ] && [ -f "$sarif" ] && [ ! -L "$sarif" ]; then
    echo "sarif-file=$sarif" >>"$output"
fi
exit "$status"
