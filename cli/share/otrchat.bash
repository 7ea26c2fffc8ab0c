# bash completion for otrchat: commands, then each command's options and their values.
_otrchat() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local commands="audit chat distrust fingerprint keygen mackey modify parse readforge remac sesskeys trust"
  local command="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --dir) ((i++)) ;;
      -*) ;;
      *) command=${words[i]}; break ;;
    esac
  done
  case $prev in
    --dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --input|--json) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --policy) COMPREPLY=($(compgen -W "manual opportunistic always never" -- "$cur")); return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
  esac
  local options
  case $command in
    "") COMPREPLY=($(compgen -W "$commands --dir --help --version" -- "$cur")); return ;;
    chat) options="--stdio --listen --connect --irc --nick --peer --channel --account --protocol --policy
                   --start --input --json --timeout --max-message-size --max-peers
                   --keep-listening --reconnect --color --timestamps --help" ;;
    keygen) options="--account --protocol --force --help" ;;
    fingerprint) options="--account --protocol --peer --json --help" ;;
    trust|distrust) options="--account --protocol --peer --target --help" ;;
    *) options="--help" ;;
  esac
  COMPREPLY=($(compgen -W "$options" -- "$cur"))
}
complete -F _otrchat otrchat
