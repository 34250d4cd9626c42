#!/usr/bin/env bash
# The bash completion script `hanse completion bash` prints (and make install installs), loaded
# into a real bash and asked what it completes: top-level commands, subcommands, a command's
# options, and file names for an option's value.
# Usage: completion_test.sh HANSE_BINARY
set -euo pipefail
hanse=$1
script=$(mktemp /tmp/hanse-completion.XXXXXX)
work=$(mktemp -d /tmp/hanse-completion-dir.XXXXXX)
trap 'rm -rf "$script" "$work"' EXIT
"$hanse" completion bash >"$script"
bash -n "$script"
complete_words() {  # the words COMPREPLY holds for the command line "$@" (last word: the cursor)
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _hanse
           printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}
expect() {  # expect WHAT WORD... -- COMMAND LINE: every WORD among the completions
  local what=$1; shift
  local want=()
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  local got
  got=$(cd "$work" && complete_words "$@")
  for w in "${want[@]}"; do
    grep -qx -- "$w" <<<"$got" || { echo "FAIL: $what: '$w' not in: $(echo $got)"; exit 1; }
  done
  echo "ok   $what"
}
refuse() {  # refuse WHAT WORD -- COMMAND LINE: WORD not among the completions
  local what=$1 word=$2; shift 3
  if (cd "$work" && complete_words "$@") | grep -qx -- "$word"; then
    echo "FAIL: $what: '$word' offered"; exit 1
  fi
  echo "ok   $what"
}
expect "top-level commands" init dataset search fetch contract completion -- hanse ""
expect "a prefix" dataset document -- hanse d
expect "subcommands of dataset" publish list show unpublish -- hanse dataset ""
expect "options of dataset publish" --home --json --help -- hanse dataset publish --
refuse "no option of another command" --purpose -- hanse dataset publish --
expect "options of a nested command after an option" --endpoint -- hanse card update --home x --e
mkdir "$work/homes"; touch "$work/homes.json"
expect "file names for --home's value" homes homes.json -- hanse status --home hom
expect "file names for an argument" homes.json -- hanse dataset publish --home h homes.
"$hanse" completion zsh >/dev/null 2>&1 && { echo "FAIL: zsh accepted"; exit 1; }
echo "ok   an unknown shell is a usage error"
