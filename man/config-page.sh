#!/bin/sh
# Writes u2u-relay.yaml(5) from man/u2u-relay.yaml.5.in and the documented example configurations: the template's
# line @CONFIG_SECTIONS@ becomes one section per file, made by man/config-to-man.awk. man/CMakeLists.txt runs it.
# Usage: config-page.sh OUTPUT TEMPLATE VERSION DATE CONFIG.yaml...
set -eu
out=$1 template=$2 version=$3 date=$4
shift 4
here=$(dirname "$0")
grep -qx '@CONFIG_SECTIONS@' "$template" || { echo "config-page.sh: $template has no @CONFIG_SECTIONS@ line" >&2; exit 1; }
{
  sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" -e '/^@CONFIG_SECTIONS@$/,$d' "$template"
  for config in "$@"; do
    awk -v role="$(basename "$config" .yaml)" -f "$here/config-to-man.awk" "$config"
  done
  sed -e '1,/^@CONFIG_SECTIONS@$/d' "$template"
} >"$out.part"
mv "$out.part" "$out"
