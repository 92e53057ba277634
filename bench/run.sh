#!/usr/bin/env bash
# kepguard against git on the real KEP history (../shared/corpus/), side by side, in one run.
#
#   bench/run.sh            # 10 runs per command (RUNS=N to change); prints the results
#   bench/run.sh --quick    # 2 runs, to check that the script works
#   bench/run.sh --write    # also writes them into README.md and hooks/README.md
#
# --write replaces the region between <!-- bench:begin --> and <!-- bench:end --> in README.md
# with what the script prints, and the text between <!-- bench:KEY --> and <!-- /bench --> (one
# line) in README.md and hooks/README.md with the figure KEY (see `figures` below); it fails, and
# writes nothing, when a marker is missing, unclosed or unknown.
#
# Needs git, python3 (for --write) and hyperfine (installed with apt-get when missing); builds the
# release binary.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-10}
write=false
for arg in "$@"; do
    case $arg in
        --quick) runs=2 ;;
        --write) write=true ;;
        *) echo "bench: unknown argument $arg (--quick, --write)" >&2; exit 2 ;;
    esac
done
bundle=${KEPGUARD_CORPUS:-../shared/corpus/k8s-enhancements-keps.bundle}
[[ -f $bundle ]] || { echo "bench: corpus bundle not found at $bundle" >&2; exit 2; }
bundle=$(realpath "$bundle")
if $write; then
    command -v python3 >/dev/null || { echo "bench: --write needs python3" >&2; exit 2; }
    grep -q '<!-- bench:begin -->' README.md || { echo "bench: README.md has no <!-- bench:begin --> marker" >&2; exit 2; }
fi

# Rows for subcommands a build may not have: each is measured, and its row added, only when
# `kepguard --help` lists the command. Fields: command | what the row measures | arguments (run
# in the corpus repository) | target in ms (empty: none).
optional=(
    "readiness|readiness of the KEPs targeting v1.37 at the tip|readiness --release v1.37 --format json|"
    "report|report over the whole first-parent history|report --format json|"
)
n=50 # the scaling row checks a commit changing n KEPs and one changing 10·n

if ! command -v hyperfine >/dev/null; then
    sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get install -y -qq hyperfine >/dev/null
fi
cargo build --release --locked --quiet
kg=$root/target/release/kepguard
commands=$("$kg" --help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -c init.defaultBranch=master clone --quiet --bare "$bundle" "$work/k.git"
cd "$work/k.git"
commits=$(git rev-list --first-parent --count HEAD)
tip=$(git rev-parse HEAD)

# A server holding the history before the pushed commits; the pushed objects are in it already
# (under refs/bench), and the hook runs as git runs it: in the repository, ref updates on stdin.
# Its deadline is raised so that a slow check is timed whole rather than cut at 4.5 s.
server() { # name, commits pushed, kepguard.mode
    git -c init.defaultBranch=main clone --quiet --bare --no-local "$work/k.git" "$work/$1.git"
    git -C "$work/$1.git" update-ref refs/heads/main "HEAD~$2"
    git -C "$work/$1.git" update-ref refs/bench/head HEAD
    git -C "$work/$1.git" symbolic-ref HEAD refs/heads/main
    git -C "$work/$1.git" config kepguard.mode "$3"
    git -C "$work/$1.git" config kepguard.timeout 600 # time the whole check, not the deadline
    echo "$(git rev-parse "HEAD~$2") $tip refs/heads/main" > "$work/$1.stdin"
}
server push1 1 net
server push1000 1000 net
server push1000each 1000 each
pushed=$(git rev-list --count HEAD~1000..HEAD)

# Two commits on top of the tip, changing n and 10·n KEPs spread over the tree (the n are every
# tenth of the 10·n): a paragraph appended to README.md and a comment to kep.yaml. Made in a
# temporary work tree, removed afterwards; the commits stay under refs/bench.
mapfile -t keps < <(git ls-tree -r --name-only HEAD -- keps/ | awk -F/ '
    $NF == "kep.yaml" || $NF == "README.md" { d = $0; sub("/[^/]*$", "", d); if (d ~ /\/[0-9]+-[^\/]+$/) seen[d]++ }
    END { for (d in seen) if (seen[d] == 2) print d }' | sort)
(( ${#keps[@]} >= 10 * n )) || { echo "bench: only ${#keps[@]} KEPs at the tip, fewer than $((10 * n))" >&2; exit 1; }
git worktree add --quiet --detach "$work/edit" "$tip"
scale() { # KEPs changed, step through the 10·n picked
    local i d
    git -C "$work/edit" checkout --quiet --detach "$tip"
    for ((i = 0; i < 10 * n; i += $2)); do
        d=$work/edit/${keps[i * ${#keps[@]} / (10 * n)]}
        printf '\nBenchmark edit.\n' >> "$d/README.md"
        printf '\n# benchmark edit\n' >> "$d/kep.yaml"
    done
    git -C "$work/edit" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgSign=false \
        commit --quiet --no-verify -a -m "bench: $1 KEPs changed"
    git update-ref "refs/bench/scale$1" "$(git -C "$work/edit" rev-parse HEAD)"
    git rev-parse "refs/bench/scale$1"
}
small=$(scale "$n" 10)
large=$(scale $((10 * n)) 1)
git worktree remove --force "$work/edit"
[[ $(git diff-tree -r --name-only "$tip" "$large" | wc -l) == $((20 * n)) ]] \
    || { echo "bench: the $((10 * n))-KEP commit does not change $((20 * n)) files" >&2; exit 1; }

hf() { # name, commands...
    local name=$1; shift
    # kepguard exits 1 on the history's findings; hyperfine's notes go to a log shown on failure.
    hyperfine --style none --warmup 1 --runs "$runs" --ignore-failure --export-csv "$work/$name.csv" "$@" \
        >/dev/null 2>"$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
}
median() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.1f", $4 * 1000 }' "$work/$1.csv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
thousands() { sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/' -e 'ta' <<< "$1"; }

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown) # the 1-minute average
hf audit -N "$kg audit --first-parent --format json" "git log --first-parent -m -p --format=%H HEAD -- keps/"
one_core=false
if command -v taskset >/dev/null && (( $(nproc) > 1 )); then
    one_core=true
    hf audit1 -N "taskset -c 0 $kg audit --first-parent --format json" \
        "taskset -c 0 git log --first-parent -m -p --format=%H HEAD -- keps/"
fi
hf check -N "$kg check --base HEAD^ --head HEAD --format json" "git diff-tree -r -p HEAD^ HEAD -- keps/"
hf validate "$kg validate --format json" "git ls-tree -r --object-only HEAD -- keps/ | git cat-file --batch"
hf scale -N "$kg check --base $tip --head $small --format json" "$kg check --base $tip --head $large --format json"
hf push1 "cd $work/push1.git && $kg hook pre-receive < $work/push1.stdin"
hf push1000 "cd $work/push1000.git && $kg hook pre-receive < $work/push1000.stdin"
hf push1000each "cd $work/push1000each.git && $kg hook pre-receive < $work/push1000each.stdin"
for p in push1 push1000 push1000each; do # a timed-out check would time the deadline
    if (cd "$work/$p.git" && "$kg" hook pre-receive < "$work/$p.stdin" 2>&1 || true) | grep -q 'did not finish'; then
        echo "bench: the $p hook timed out" >&2; exit 1
    fi
done
rss=$( { /usr/bin/time -f %M "$kg" audit --first-parent --format json >/dev/null || true; } 2>&1 | tail -1)
mb=$((rss / 1024))

# The table: one row each, and for a row with a target, whether this run met it.
rows=() missed=()
row() { # what, kepguard, git, ratio, target ("< 20 ms", "≤ 0.5×"; empty: none), measured, short name
    rows+=("| $1 | $2 | $3 | $4 | ${5:-—} |")
    [[ -n $5 ]] || return 0
    awk -v v="$6" -v t="$5" 'BEGIN {
        op = substr(t, 1, index(t, " ") - 1); lim = substr(t, index(t, " ") + 1) + 0
        exit !(op == "<" ? v + 0 < lim : v + 0 <= lim) }' || missed+=("$7 ($6${5##*[0-9]}; target $5)")
}

a=$(median audit 1); g=$(median audit 2)
row "audit of the whole first-parent history ($(thousands "$commits") commits) vs \`git log --first-parent -m -p -- keps/\`" \
    "$a ms" "$g ms" "$(ratio "$a" "$g")×" "≤ 0.5×" "$(ratio "$a" "$g")" "the audit"
if $one_core; then
    a1=$(median audit1 1); g1=$(median audit1 2)
    row "the same on one core (\`taskset -c 0\`)" "$a1 ms" "$g1 ms" "$(ratio "$a1" "$g1")×" "" "" ""
fi
c=$(median check 1); d=$(median check 2)
row "check of the last commit vs \`git diff-tree -r -p HEAD^ HEAD -- keps/\`" \
    "$c ms" "$d ms" "$(ratio "$c" "$d")×" "< 20 ms" "$c" "the check of the last commit"
v=$(median validate 1); vg=$(median validate 2)
validated=$("$kg" validate --format json | grep -o '"keps_checked":[0-9]*' | cut -d: -f2 || true)
row "validate of the tip's ${validated:-?} KEPs vs reading every blob under \`keps/\` at the tip (\`git ls-tree -r HEAD -- keps/ \\| git cat-file --batch\`)" \
    "$v ms" "$vg ms" "$(ratio "$v" "$vg")×" "" "" ""
s1=$(median scale 1); s10=$(median scale 2)
row "check of one commit changing $n KEPs, then $((10 * n)) (ratio: the second time over the first)" \
    "$s1 ms, $s10 ms" "" "$(ratio "$s10" "$s1")×" "≤ 12×" "$(ratio "$s10" "$s1")" "the scaling from $n to $((10 * n)) KEPs"
p1=$(median push1 1); p1000=$(median push1000 1); p1000each=$(median push1000each 1)
row "pre-receive, 1-commit push" "$p1 ms" "" "" "< 20 ms" "$p1" "the 1-commit push"
row "pre-receive, 1,000-commit push ($(thousands "$pushed") commits), \`kepguard.mode\` \`net\`" \
    "$p1000 ms" "" "" "< 500 ms" "$p1000" "the 1,000-commit push in net mode"
row "the same push, \`kepguard.mode\` \`each\`" "$p1000each ms" "" "" "< 500 ms" "$p1000each" "the 1,000-commit push in each mode"
for entry in "${optional[@]}"; do
    IFS='|' read -r sub what args target <<< "$entry"
    grep -qx "$sub" <<< "$commands" || continue
    hf "$sub" -N "$kg $args"
    o=$(median "$sub" 1)
    row "$what (\`kepguard $args\`)" "$o ms" "" "" "${target:+< $target ms}" "$o" "$sub"
done
row "peak memory of the audit" "$mb MB" "" "" "< 100 MB" "$mb" "the audit's peak memory"

if (( ${#missed[@]} == 0 )); then
    verdict="This run meets every target."
else
    verdict="Targets this run misses: $(printf '%s; ' "${missed[@]}")"
    verdict="${verdict%; }."
    verdict=$(fmt -w 100 <<< "$verdict")
fi

block=$(cat <<BLOCK
Corpus: $(thousands "$commits") first-parent commits of kubernetes/enhancements (keps/ only); medians of
$runs runs; $(nproc) cores, load average $load before the timings; $(git --version); $("$kg" --version)
(release build).

| what | kepguard | git | ratio | target |
| --- | ---: | ---: | ---: | --- |
$(printf '%s\n' "${rows[@]}")

The ratio is kepguard's time over git's doing the nearest thing git does: printing the same
changes as patches (audit, check) or reading every KEP file of the tip (validate). The scaling
row's commits are made by the script on top of the tip: each appends a paragraph to the README.md
and a comment to the kep.yaml of $n (then $((10 * n))) KEPs spread over the tree; 10× is linear.
The hook rows are the hook's own wall time, run as git runs it (in the receiving repository, ref
updates on stdin, \`kepguard.timeout\` raised so that the whole check is timed): \`net\` checks the
push's net change, \`each\` every pushed commit against its first parent.

$verdict
BLOCK
)
printf '%s\n' "$block"

$write || exit 0
cd "$root"
BENCH_BLOCK=$block python3 - README.md hooks/README.md \
    "validate=$v ms" "push1=$p1 ms" "push1000=$p1000 ms" "push1000each=$p1000each ms" \
    "audit=$a ms" "check=$c ms" "memory=$mb MB" <<'PY'
import os, re, shutil, sys

files = [a for a in sys.argv[1:] if "=" not in a]
figures = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
block = os.environ["BENCH_BLOCK"]
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
inline = re.compile(r"(<!-- bench:([\w-]+) -->)[^\n]*?(<!-- /bench -->)")
out = {}
for path in files:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.count(begin) + text.count(end) > 0 or path == "README.md":
        if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
            sys.exit(f"bench: {path}: want one {begin} before one {end}")
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = f"{head}{begin}\n\n{block}\n\n{end}{tail}"
    openers = len(re.findall(r"<!-- bench:[\w-]+ -->", text)) - text.count(begin) - text.count(end)
    found = inline.findall(text)
    if len(found) != openers or text.count("<!-- /bench -->") != openers:
        sys.exit(f"bench: {path}: a <!-- bench:KEY --> marker without its <!-- /bench --> on the same line")
    unknown = {key for _, key, _ in found} - figures.keys()
    if unknown:
        sys.exit(f"bench: {path}: unknown figures {sorted(unknown)} (known: {sorted(figures)})")
    if not found and begin not in text:
        sys.exit(f"bench: {path}: no bench markers")
    out[path] = inline.sub(lambda m: m.group(1) + figures[m.group(2)] + m.group(3), text)
for path, text in out.items():
    with open(path + ".bench-tmp", "w", encoding="utf-8") as f:
        f.write(text)
    shutil.copymode(path, path + ".bench-tmp")
    os.replace(path + ".bench-tmp", path)
    print(f"bench: wrote {path}", file=sys.stderr)
PY
