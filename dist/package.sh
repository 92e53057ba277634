#!/usr/bin/env bash
# Builds kepguard for a Rust target and packs the release archive the GitHub Action installs:
#
#   dist/package.sh [TARGET]
#
# TARGET defaults to the host's (`rustc -vV`). The script runs
# `cargo build --release --locked --target TARGET`, then writes
#
#   dist/out/kepguard-v<version>-<TARGET>.tar.gz   the `kepguard` binary at the top level, with
#                                                  README.md (and the license files, if any)
#   dist/out/checksums.txt                         `<sha256>  <archive>` and
#                                                  `<sha256>  <archive>:kepguard` (the binary in it)
#
# in the format of actions/install/checksums.txt, to which a release appends these lines before it
# is tagged. checksums.txt keeps the lines of other archives already in dist/out, so packing
# several targets in turn gives one file for all of them. <version> is Cargo.toml's.
#
# Environment:
#   KEPGUARD_DIST_BIN   an already-built kepguard to pack instead of building one (the tests pass
#                       their own binary); TARGET then only names the archive
#   KEPGUARD_DIST_OUT   the output directory instead of dist/out (the tests use one under target/)
#   CARGO_TARGET_DIR    as for cargo
#
# Writes nothing outside the output directory and cargo's target directory.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() {
    echo "dist/package.sh: $*" >&2
    exit 1
}

sha256() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | awk '{print $1}'
    else
        shasum -a 256 "$1" | awk '{print $1}'
    fi
}

[ $# -le 1 ] || die "usage: dist/package.sh [TARGET]"
target=${1:-$(rustc -vV | sed -n 's/^host: //p')}
# The target ends up in a file name and a URL.
[[ $target =~ ^[A-Za-z0-9_.-]+$ ]] || die "not a Rust target triple: '$target'"

metadata=$(cargo metadata --no-deps --format-version 1 --offline)
version=$(grep -o '"name":"kepguard","version":"[^"]*"' <<<"$metadata" | sed 's/.*"version":"\([^"]*\)"/\1/' || true)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
    die "cannot read kepguard's version from cargo metadata (got '$version')"

if [ -n "${KEPGUARD_DIST_BIN:-}" ]; then
    bin=$KEPGUARD_DIST_BIN
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
        die "KEPGUARD_DIST_BIN=$bin is not an executable file"
    fi
else
    target_dir=$(sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' <<<"$metadata")
    [ -n "$target_dir" ] || die "cannot read cargo's target directory from cargo metadata"
    cargo build --release --locked --target "$target"
    bin=$target_dir/$target/release/kepguard
    [ -x "$bin" ] || die "cargo built no $bin"
fi

out=${KEPGUARD_DIST_OUT:-$root/dist/out}
mkdir -p "$out"
archive=kepguard-v$version-$target.tar.gz

stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/kepguard"
chmod 755 "$stage/kepguard"
files=(kepguard README.md)
cp README.md "$stage/"
for f in LICENSE* LICENCE* COPYING* NOTICE*; do
    if [ -f "$f" ]; then
        cp "$f" "$stage/"
        files+=("$f")
    fi
done

# Owned by root in the archive, whoever packed it; no macOS resource forks; no gzip timestamp.
export COPYFILE_DISABLE=1
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    owner=(--owner=0 --group=0 --numeric-owner)
else
    owner=(--uid 0 --gid 0 --numeric-owner)
fi
tar -cf - "${owner[@]}" -C "$stage" "${files[@]}" | gzip -n >"$stage/$archive"
mv "$stage/$archive" "$out/$archive"

lines="$(sha256 "$out/$archive")  $archive
$(sha256 "$stage/kepguard")  $archive:kepguard"
checksums=$out/checksums.txt
{
    if [ -f "$checksums" ]; then
        awk -v a="$archive" '$2 != a && $2 != a ":kepguard"' "$checksums"
    fi
    printf '%s\n' "$lines"
} | LC_ALL=C sort -k2,2 >"$stage/checksums.txt"
mv "$stage/checksums.txt" "$checksums"

echo "dist/package.sh: packed $out/$archive; its lines for actions/install/checksums.txt:"
printf '%s\n' "$lines"
