#!/usr/bin/env bash
# The kepguard readiness action's step: runs `kepguard readiness` for a release, the Markdown
# report appended to the job summary and the JSON report written to a file, and sets the outputs
# `tracked`, `at-risk`, `exception` (the JSON's counts) and `report` (the JSON file's path).
#
# Environment: KEPGUARD (the binary), INPUT_RELEASE, INPUT_FREEZE, INPUT_KEPS_FILE,
# INPUT_EXCEPTIONS, INPUT_SINCE, INPUT_FAIL_ON_AT_RISK, and the runner's GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -euo pipefail

kepguard=${KEPGUARD:-kepguard}
output=${GITHUB_OUTPUT:-/dev/null}
temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

# Inputs are never echoed back: a line break in one would start a workflow command of its own.
fail() {
    echo "::error title=kepguard readiness::$*"
    exit 2
}

release=${INPUT_RELEASE:-}
freeze=${INPUT_FREEZE:-enhancements}
fail_on=${INPUT_FAIL_ON_AT_RISK:-false}
# The release is named in the log and the job summary: only a release number may get there
# (kepguard reads a milestone leniently, as KEP metadata writes them: `v1.37-ish` is v1.37).
[[ $release =~ ^v?[0-9]+\.[0-9]+$ ]] || fail "input \`release\` must be a release such as v1.37"
case "$freeze" in
prr | enhancements) ;;
*) fail "input \`freeze\` must be prr or enhancements" ;;
esac
case "$fail_on" in
true | false) ;;
*) fail "input \`fail-on-at-risk\` must be true or false" ;;
esac

# `--option=value`, so that a value starting with `-` stays a value.
args=(readiness "--release=$release" "--freeze=$freeze" --format=json)
[ -z "${INPUT_KEPS_FILE:-}" ] || args+=("--keps-file=$INPUT_KEPS_FILE")
[ -z "${INPUT_EXCEPTIONS:-}" ] || args+=("--exceptions=$INPUT_EXCEPTIONS")
[ -z "${INPUT_SINCE:-}" ] || args+=("--since=$INPUT_SINCE")
[ "$fail_on" = false ] || args+=(--fail-on=at-risk)
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || args+=("--summary=$GITHUB_STEP_SUMMARY")

# A fresh directory: the action may run more than once in a job.
report=$(mktemp -d "$temp/kepguard-readiness.XXXXXX")/readiness.json

status=0
"$kepguard" "${args[@]}" >"$report" || status=$?
# 0: the report; 1: the report, a KEP at risk with fail-on-at-risk; anything else: no report.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    exit "$status"
fi

json=$(<"$report")
counts_re='"counts"[[:space:]]*:[[:space:]]*\{([^}]*)\}'
[[ $json =~ $counts_re ]] || fail "kepguard's JSON report has no counts"
counts=${BASH_REMATCH[1]}
# Bash 3 (macOS) has no associative arrays: one variable a count, named as the key is.
tracked='' at_risk='' exception=''
for key in tracked at_risk exception; do
    re="\"$key\"[[:space:]]*:[[:space:]]*([0-9]+)"
    [[ $counts =~ $re ]] || fail "kepguard's JSON report has no count \`$key\`"
    printf -v "$key" %s "${BASH_REMATCH[1]}"
done

{
    echo "tracked=$tracked"
    echo "at-risk=$at_risk"
    echo "exception=$exception"
    echo "report=$report"
} >>"$output"

echo "kepguard readiness: $release $freeze freeze: $tracked tracked, $at_risk at risk, $exception with an exception"
echo "kepguard readiness: JSON report in $report"
if [ "$status" -eq 1 ]; then
    echo "::error title=kepguard readiness::$at_risk KEP(s) at risk for the $release $freeze freeze (see the job summary)"
fi
exit "$status"
