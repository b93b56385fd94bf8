#!/usr/bin/env bash
# Fetch a benign web-code corpus (real PHP, JSP, ASP.NET and CGI applications) from Debian's
# packages into a directory, for the webshell scanner's false-positive test and benchmark.
# Nothing here is committed: the corpus lives outside the repository.
#
#   bench/fetch-web-corpus.sh [DIR]        (default: ${PODWARDEN_WEB_CORPUS:-/tmp/podwarden-web-corpus})
#
# Afterwards DIR/tree/<package>/ holds each package's files; point the tests at it with
#   PODWARDEN_WEB_CORPUS=DIR/tree cargo test -p podwarden-webshell
set -euo pipefail

dir="${1:-${PODWARDEN_WEB_CORPUS:-/tmp/podwarden-web-corpus}}"
# PHP applications and libraries, JSP (Tomcat examples and manager), ASP.NET (Mono examples),
# Perl CGI (awstats, gitweb).
packages=(
  wordpress phpmyadmin mediawiki dokuwiki adminer roundcube-core cacti zabbix-frontend-php
  tt-rss php-twig php-tcpdf php-phpseclib3 php-getid3 php-horde-core
  tomcat10-examples tomcat10-admin
  asp.net-examples
  awstats gitweb
)

mkdir -p "$dir/debs" "$dir/tree"
cd "$dir/debs"
missing=()
for package in "${packages[@]}"; do
  if ! ls "${package}"_*.deb >/dev/null 2>&1; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  if ! apt-get download "${missing[@]}"; then
    echo "apt-get download failed; run 'apt-get update' first" >&2
    exit 1
  fi
fi
for deb in *.deb; do
  name="${deb%%_*}"
  if [[ ! -d "$dir/tree/$name" ]]; then
    dpkg-deb -x "$deb" "$dir/tree/$name"
    # Documentation, changelogs and man pages are not web code.
    rm -rf "$dir/tree/$name/usr/share/doc" "$dir/tree/$name/usr/share/man"
  fi
done
echo "corpus in $dir/tree: $(find "$dir/tree" -type f | wc -l) files, $(du -sh "$dir/tree" | cut -f1)"
