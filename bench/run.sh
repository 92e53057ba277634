#!/usr/bin/env bash
# kepguard against git on the real KEP history (../shared/corpus/), side by side, in one run.
#
#   bench/run.sh            # 10 runs per command (RUNS=N to change)
#   bench/run.sh --quick    # 2 runs, to check that the script works
#
# Needs git and hyperfine (installed with apt-get when missing); builds the release binary.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${RUNS:-10}
[[ ${1:-} == --quick ]] && runs=2
bundle=${KEPGUARD_CORPUS:-../shared/corpus/k8s-enhancements-keps.bundle}
[[ -f $bundle ]] || { echo "bench: corpus bundle not found at $bundle" >&2; exit 2; }

if ! command -v hyperfine >/dev/null; then
    sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get install -y -qq hyperfine >/dev/null
fi
cargo build --release --locked --quiet
kg=$PWD/target/release/kepguard

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -c init.defaultBranch=master clone --quiet --bare "$bundle" "$work/k.git"
cd "$work/k.git"
commits=$(git rev-list --first-parent --count HEAD)

# A server holding the history before the pushed commits; the pushed objects are in it already
# (under refs/bench), and the hook runs as git runs it: in the repository, ref updates on stdin.
server() { # name, commits pushed
    git -c init.defaultBranch=main clone --quiet --bare --no-local "$work/k.git" "$work/$1.git"
    git -C "$work/$1.git" update-ref refs/heads/main "HEAD~$2"
    git -C "$work/$1.git" update-ref refs/bench/head HEAD
    git -C "$work/$1.git" symbolic-ref HEAD refs/heads/main
    echo "$(git rev-parse "HEAD~$2") $(git rev-parse HEAD) refs/heads/main" > "$work/$1.stdin"
}
server push1 1
server push1000 1000

hf() { # name, commands...
    local name=$1; shift
    # kepguard exits 1 on the history's findings; hyperfine's notes go to a log shown on failure.
    hyperfine --style none --warmup 1 --runs "$runs" --ignore-failure --export-csv "$work/$name.csv" "$@" \
        >/dev/null 2>"$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
}
hf audit -N "$kg audit --first-parent --format json" "git log --first-parent -m -p --format=%H HEAD -- keps/"
hf check -N "$kg check --base HEAD^ --head HEAD --format json" "git diff-tree -r -p HEAD^ HEAD -- keps/"
hf push1 "cd $work/push1.git && $kg hook pre-receive < $work/push1.stdin"
hf push1000 "cd $work/push1000.git && $kg hook pre-receive < $work/push1000.stdin"
rss=$( { /usr/bin/time -f %M "$kg" audit --first-parent --format json >/dev/null || true; } 2>&1 | tail -1)

median() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.1f", $4 * 1000 }' "$work/$1.csv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
a=$(median audit 1); g=$(median audit 2); c=$(median check 1); d=$(median check 2)
p1=$(median push1 1); p1000=$(median push1000 1)

cat <<TABLE
Corpus: $commits first-parent commits of kubernetes/enhancements (keps/ only); medians of $runs runs;
$(nproc) cores; $(git --version).

| what | kepguard | git | ratio | target |
| --- | ---: | ---: | ---: | --- |
| audit of the whole first-parent history vs \`git log --first-parent -m -p -- keps/\` | $a ms | $g ms | $(ratio "$a" "$g") | ≤ 0.5× |
| check of the last commit vs \`git diff-tree -r -p HEAD^ HEAD -- keps/\` | $c ms | $d ms | $(ratio "$c" "$d") | < 20 ms |
| pre-receive, 1-commit push | $p1 ms | | | < 20 ms |
| pre-receive, 1,000-commit push | $p1000 ms | | | < 500 ms |
| peak memory of the audit | $((rss / 1024)) MB | | | < 100 MB |
TABLE
