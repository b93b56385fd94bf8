#!/usr/bin/env bash
# Regenerates crates/podwarden-scan/tests/data/rpm/rpmdb.sqlite: a real rpm SQLite database
# written by rpm itself. Builds four tiny packages with rpmbuild (one with a subpackage, one
# with an epoch, one noarch with an epoch, one with 400 files so that its header spills into
# overflow pages) and registers them with `rpm --justdb` in an empty database, then imports
# a freshly made signing key (a `gpg-pubkey` entry). Needs gpg as well.
# Needs Debian's `rpm` package (`apt-get install rpm`), whose database backend is SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
out=crates/podwarden-scan/tests/data/rpm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{SPECS,BUILD,RPMS,SRPMS,SOURCES,BUILDROOT} "$work/db"

spec() { # name version release epoch arch summary
  local name=$1 version=$2 release=$3 epoch=$4 arch=$5
  {
    echo "Name: $name"
    echo "Version: $version"
    echo "Release: $release"
    [ -n "$epoch" ] && echo "Epoch: $epoch"
    echo "Summary: Podwarden test fixture $name"
    echo "License: Apache-2.0"
    [ "$arch" = noarch ] && echo "BuildArch: noarch"
    echo "%define debug_package %{nil}"
    echo "%global _build_id_links none"
    echo "%description"
    echo "A tiny package built only to fill a test rpm database."
    if [ "$name" = hello ]; then
      echo "%package -n hello-libs"
      echo "Summary: Libraries of hello"
      echo "%description -n hello-libs"
      echo "Subpackage: its SOURCERPM names hello."
    fi
    echo "%install"
    if [ "$name" = many-files ]; then
      # Enough files to make the header blob span several overflow pages.
      echo 'mkdir -p %{buildroot}/usr/share/many-files; for i in $(seq 1 400); do echo $i > %{buildroot}/usr/share/many-files/file-with-a-long-name-$i.txt; done'
    fi
    echo "mkdir -p %{buildroot}/usr/share/$name"
    echo "echo $name > %{buildroot}/usr/share/$name/README"
    [ "$name" = hello ] && echo "mkdir -p %{buildroot}/usr/lib/hello && echo lib > %{buildroot}/usr/lib/hello/libhello.txt"
    echo "%files"
    [ "$name" = many-files ] && echo "/usr/share/many-files/file-with-a-long-name-*.txt"
    echo "/usr/share/$name/README"
    [ "$name" = hello ] && { echo "%files -n hello-libs"; echo "/usr/lib/hello/libhello.txt"; }
    echo "%changelog"
  } > "$work/SPECS/$name.spec"
  rpmbuild --quiet --define "_topdir $work" --define "_arch $arch" \
    --define "__os_install_post %{nil}" -bb "$work/SPECS/$name.spec" >/dev/null
}

spec hello 2.12.1 3.el9 "" x86_64
spec tzdata-tiny 2024a 1.el9 2 noarch
spec openssl-tiny 3.0.7 27.el9 1 x86_64
spec many-files 1.0 1.el9 "" x86_64

rpm --dbpath "$work/db" --initdb
rpm --dbpath "$work/db" --justdb --nodeps --noscripts --ignorearch --ignoreos -i "$work"/RPMS/*/*.rpm
# A signing key, as `rpm --import` stores it: a gpg-pubkey pseudo-package that scanners skip.
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Podwarden Fixture <fixture@podwarden.invalid>' rsa2048 sign never
gpg --batch --quiet --armor --export fixture@podwarden.invalid > "$work/key.asc"
rpm --dbpath "$work/db" --import "$work/key.asc"
rpm --dbpath "$work/db" -qa --qf '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n' | sort
# Fold any write-ahead log into the main file so the fixture is one self-contained file.
if command -v sqlite3 >/dev/null; then
  sqlite3 "$work/db/rpmdb.sqlite" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
fi
cp "$work/db/rpmdb.sqlite" "$out/rpmdb.sqlite"
ls -l "$out/rpmdb.sqlite"
