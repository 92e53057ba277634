#!/usr/bin/env bash
# Installs kepguard into the runner's tool cache and writes `path=<binary>` to $GITHUB_OUTPUT.
#
#   install.sh       install: the prebuilt release archive for this OS/arch when KEPGUARD_VERSION
#                    names one (checked against the SHA-256 this action pins in checksums.txt, never
#                    one fetched from the download server), else `cargo install --locked` of this
#                    action's own source
#   install.sh key   write `key=` and `dir=` to $GITHUB_OUTPUT for the cache step: the install
#                    directory and a key naming the version, or the source's content hash
#
# Environment: KEPGUARD_VERSION (empty: the release matching the action's tag, KEPGUARD_ACTION_REF,
# when it pins one, else build from source), KEPGUARD_REPOSITORY (owner/name whose
# releases to download), KEPGUARD_RELEASES_URL (the download base, overriding the repository's;
# https, or file for a local mirror), KEPGUARD_CHECKSUMS (the pinned checksums, by default the
# action's own checksums.txt), RUNNER_TOOL_CACHE, RUNNER_TEMP, RUNNER_OS, RUNNER_ARCH, GITHUB_OUTPUT, GITHUB_PATH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
tool_cache=${RUNNER_TOOL_CACHE:-${HOME}/.cache/kepguard-tools}
temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
version=${KEPGUARD_VERSION:-}
version=${version#v}
output=${GITHUB_OUTPUT:-/dev/null}

# The version ends up in $GITHUB_OUTPUT, a path and a URL: only a release number may get there.
if [[ ! $version =~ ^([0-9]+\.[0-9]+\.[0-9]+)?$ ]]; then
    echo "::error title=kepguard::input \`version\` must be a release version such as 0.1.0"
    exit 2
fi
checksums=${KEPGUARD_CHECKSUMS:-$here/checksums.txt}

die() {
    echo "kepguard install: $*" >&2
    exit 1
}

say() { echo "kepguard install: $*"; }

sha256() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$@" | awk '{print $1}'
    else
        shasum -a 256 "$@" | awk '{print $1}'
    fi
}

# The Rust target of the runner, as release archives are named.
target() {
    local os=${RUNNER_OS:-$(uname -s)} arch=${RUNNER_ARCH:-$(uname -m)}
    case "$os/$arch" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
    esac
}

# What identifies the build: the release version, or a hash of the source the action carries
# (the action's commit, by content, so a moved tag such as v1 gets a fresh build).
source_hash() {
    local f
    (
        cd "$source_dir"
        find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | while read -r f; do
            printf '%s\n' "$f"
            cat "$f"
        done
    ) | sha256 | cut -c1-16
}

source_version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$source_dir/Cargo.toml" | head -n1
}

# The SHA-256 this action pins for `name` (an archive, or `<archive>:kepguard` for the binary in
# it); empty when it pins none.
pinned() {
    [ -f "$checksums" ] || return 0
    awk -v name="$1" '$2 == name { print $1; exit }' "$checksums"
}

# Without a version, an action used at a release tag (`uses: kepguard/kepguard@v1`) installs the
# release its own source is, the version in its Cargo.toml, when it pins that release's archive for
# this runner; at any other ref (a branch, a commit) it builds the source it carries.
if [ -z "$version" ] && [[ ${KEPGUARD_ACTION_REF:-} =~ ^v[0-9]+(\.[0-9]+)*$ ]] && triple=$(target); then
    if [ -n "$(pinned "kepguard-v$(source_version)-$triple.tar.gz")" ]; then
        version=$(source_version)
    fi
fi

arch_name=${RUNNER_ARCH:-$(uname -m)}
if [ -n "$version" ]; then
    build_id=v$version
else
    build_id=src-$(source_hash)
fi
install_dir=$tool_cache/kepguard/$build_id/$arch_name
bin=$install_dir/bin/kepguard

if [ "${1:-}" = key ]; then
    {
        echo "key=kepguard-${RUNNER_OS:-$(uname -s)}-$arch_name-$build_id"
        echo "dir=$install_dir"
    } >>"$output"
    exit 0
fi

download() {
    local triple archive base tmp expected actual binary
    triple=$(target) || {
        say "no prebuilt archives for ${RUNNER_OS:-$(uname -s)}/$arch_name"
        return 1
    }
    archive=kepguard-v$version-$triple.tar.gz
    expected=$(pinned "$archive")
    binary=$(pinned "$archive:kepguard")
    if [[ -z $expected || -z $binary ]]; then
        say "this action pins no SHA-256 for $archive (actions/install/checksums.txt), so it downloads nothing"
        return 1
    fi
    base=${KEPGUARD_RELEASES_URL:-https://github.com/${KEPGUARD_REPOSITORY:?KEPGUARD_REPOSITORY is not set}/releases/download}
    case "$base" in
    https://* | file://*) ;;
    *) die "downloads come over https only, not from $base" ;;
    esac
    tmp=$(mktemp -d "$temp/kepguard-download.XXXXXX")
    say "downloading $base/v$version/$archive"
    if ! curl -fsSL --proto '=https,file' --proto-redir '=https' --retry 3 -o "$tmp/$archive" "$base/v$version/$archive"; then
        rm -rf "$tmp"
        say "release v$version has no archive $archive"
        return 1
    fi
    actual=$(sha256 "$tmp/$archive")
    [ "$expected" = "$actual" ] ||
        die "$archive does not match the SHA-256 this action pins (expected $expected, got $actual); nothing was installed"
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$archive" -C "$tmp/unpacked"
    [ -f "$tmp/unpacked/kepguard" ] || die "$archive holds no kepguard binary at its top level"
    [ "$(sha256 "$tmp/unpacked/kepguard")" = "$binary" ] ||
        die "the kepguard binary in $archive does not match the SHA-256 this action pins; nothing was installed"
    mkdir -p "$install_dir/bin"
    install -m 755 "$tmp/unpacked/kepguard" "$bin"
    rm -rf "$tmp"
}

# Whether the cached binary is still the one this action pins (a cache can be written by other
# jobs); a build from source is cached by the source's content and has nothing to pin.
cached_is_pinned() {
    [ -z "$version" ] && return 0
    local triple
    triple=$(target) || return 0
    [ "$(sha256 "$bin")" = "$(pinned "kepguard-v$version-$triple.tar.gz:kepguard")" ]
}

build() {
    command -v cargo >/dev/null ||
        die "cargo is not on PATH: install a Rust toolchain first, or set \`version\` to a released kepguard"
    say "building kepguard $(source_version) from $source_dir"
    CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$temp/kepguard-target} \
        cargo install --locked --quiet --path "$source_dir" --root "$install_dir"
}

if [ -x "$bin" ] && ! cached_is_pinned; then
    say "the cached $bin is not the binary this action pins; installing it anew"
    rm -f "$bin"
fi
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    say "found $("$bin" --version) in the tool cache"
elif [ -n "$version" ]; then
    if ! download; then
        [ "$version" = "$(source_version)" ] ||
            die "no prebuilt kepguard v$version for this runner, and the action's source is v$(source_version): use a released version or leave \`version\` empty"
        build
    fi
else
    build
fi

"$bin" --version
echo "path=$bin" >>"$output"
if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$install_dir/bin" >>"$GITHUB_PATH"
fi
