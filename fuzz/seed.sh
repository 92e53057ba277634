#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with realistic inputs, so that short runs start from valid KEP files,
# hook input, event payloads and policies rather than from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=fuzz/corpus
mkdir -p "$corpus"/{metadata,readme,hook_stdin,event,policy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The demo repository holds every kind of KEP file, at each step of a KEP's life.
demo="$tmp/demo.git"
cargo run --quiet --locked -- demo --keep "$demo" >/dev/null
for commit in $(git -C "$demo" rev-list HEAD); do
    while IFS= read -r path; do
        name="demo-${commit:0:10}-${path//\//_}"
        case "$path" in
            *.md) targets=(readme metadata) ;;
            *.yaml) targets=(metadata policy) ;;
            *) continue ;;
        esac
        for target in "${targets[@]}"; do
            git -C "$demo" show "$commit:$path" >"$corpus/$target/$name"
        done
    done < <(git -C "$demo" ls-tree -r --name-only "$commit")
done

# A legacy single-file KEP: front matter, then the Markdown.
{
    printf -- '---\ntitle: Legacy KEP\nstatus: implemented\nlatest-milestone: "v1.19"\n---\n'
    git -C "$demo" show HEAD:keps/sig-node/4242-pod-frobnication/README.md
} | tee "$corpus/metadata/legacy.md" >"$corpus/readme/legacy.md"

cp src/policy_default.yaml "$corpus/policy/default.yaml"
cat >"$corpus/policy/custom.yaml" <<'EOF'
keps: keps/
prr-dir: keps/prod-readiness
trailers: true
rules:
  implementation-history:
    when: any
  prr-approval:
    since: "1.30"
  status-transition:
    level: off
allow:
  - rule: stage-monotonic
    kep: 4242
    reason: reverted after the release
    until: v1.31
EOF

# The KEP templates, when the checkout has them beside it.
seeds=../shared/seeds
if [ -d "$seeds" ]; then
    for file in "$seeds"/*.md "$seeds"/*.yaml "$seeds"/*.txt; do
        [ -f "$file" ] || continue
        name="seed-$(basename "$file")"
        case "$file" in
            *.yaml) cp "$file" "$corpus/metadata/$name" && cp "$file" "$corpus/policy/$name" ;;
            *) cp "$file" "$corpus/readme/$name" && cp "$file" "$corpus/metadata/$name" ;;
        esac
    done
fi

zero=0000000000000000000000000000000000000000
mapfile -t commits < <(git -C "$demo" rev-list --reverse HEAD)
: >"$corpus/hook_stdin/push"
previous=$zero
for commit in "${commits[@]}"; do
    printf '%s %s refs/heads/main\n' "$previous" "$commit" >>"$corpus/hook_stdin/push"
    previous=$commit
done
first=${commits[0]}
last=${commits[${#commits[@]} - 1]}
printf '%s %s refs/heads/feature\n%s %s refs/tags/v1\n\n' "$zero" "$last" "$first" "$zero" \
    >"$corpus/hook_stdin/create-and-delete"
printf '%s %s refs/heads/main\n' "$first" "${last:0:12}" >"$corpus/hook_stdin/short-id"

# The first byte picks the event: 0 pull_request, 1 pull_request_target, 2 push, 3 merge_group,
# 4 workflow_dispatch.
pr="{\"pull_request\":{\"base\":{\"sha\":\"$first\"},\"head\":{\"sha\":\"$last\"}}}"
printf '0%s' "$pr" >"$corpus/event/pull_request"
printf '1%s' "$pr" >"$corpus/event/pull_request_target"
printf '2{"before":"%s","after":"%s"}' "$first" "$last" >"$corpus/event/push"
printf '2{"before":"%s","after":"%s","created":true}' "$zero" "$last" >"$corpus/event/push-new-branch"
printf '3{"merge_group":{"base_sha":"%s","head_sha":"%s"}}' "$first" "$last" >"$corpus/event/merge_group"
printf '4{"inputs":{}}' >"$corpus/event/workflow_dispatch"

for dir in "$corpus"/*/; do
    echo "$dir: $(find "$dir" -type f | wc -l) inputs"
done
