/* vcluster completion bash|zsh|fish: commands, each command's flags (read
 * from its --help, so they never drift) and virtual cluster names (from
 * `vcluster list -o json`) where a command takes one. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define COMMANDS "create connect disconnect list ls describe pause sleep resume wakeup delete rm render translate " \
                 "version completion help"
#define NAMED "connect|describe|pause|sleep|resume|wakeup|delete|rm"
#define NAMED_WORDS "connect describe pause sleep resume wakeup delete rm"

void cmd_completion_help(FILE *to)
{
    fprintf(to, "Usage: vcluster completion bash|zsh|fish\n\nPrint a completion script:\n"
                "  bash:  source <(vcluster completion bash)\n"
                "  zsh:   source <(vcluster completion zsh)     (or save it as _vcluster in $fpath)\n"
                "  fish:  vcluster completion fish | source     (or save it in ~/.config/fish/completions/vcluster.fish)\n");
}

static const char k_bash[] =
    "# bash completion for vcluster\n"
    "_vcluster() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]}\n"
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
    "    COMPREPLY=($(compgen -W '" COMMANDS "' -- \"$cur\"))\n"
    "    return\n"
    "  fi\n"
    "  case \"$prev\" in\n"
    "    --log-output) COMPREPLY=($(compgen -W 'plain raw json' -- \"$cur\")); return ;;\n"
    "    -o|--output) COMPREPLY=($(compgen -W 'table json yaml' -- \"$cur\")); return ;;\n"
    "    --driver) COMPREPLY=($(compgen -W 'kubernetes local' -- \"$cur\")); return ;;\n"
    "  esac\n"
    "  case \"$cur\" in\n"
    "    -*) COMPREPLY=($(compgen -W \"$(vcluster \"$cmd\" --help 2>/dev/null | grep -o -- '--[a-z-]*' | sort -u)\" -- "
    "\"$cur\")) ;;\n"
    "    *) case \"$cmd\" in\n"
    "         " NAMED ") COMPREPLY=($(compgen -W \"$(vcluster list -o json 2>/dev/null | grep -o '\"Name\": \"[^\"]*' | "
    "cut -d'\"' -f4)\" -- \"$cur\")) ;;\n"
    "         completion) COMPREPLY=($(compgen -W 'bash zsh fish' -- \"$cur\")) ;;\n"
    "         *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
    "       esac ;;\n"
    "  esac\n"
    "}\n"
    "complete -F _vcluster vcluster\n";

static const char k_zsh[] =
    "#compdef vcluster\n"
    "# zsh completion for vcluster\n"
    "_vcluster() {\n"
    "  local -a cmds flags names\n"
    "  if (( CURRENT == 2 )); then\n"
    "    cmds=(" COMMANDS ")\n"
    "    compadd -a cmds\n"
    "    return\n"
    "  fi\n"
    "  local cmd=${words[2]}\n"
    "  case ${words[CURRENT-1]} in\n"
    "    --log-output) compadd plain raw json; return ;;\n"
    "    -o|--output) compadd table json yaml; return ;;\n"
    "    --driver) compadd kubernetes local; return ;;\n"
    "  esac\n"
    "  if [[ ${words[CURRENT]} == -* ]]; then\n"
    "    flags=(${(f)\"$(vcluster $cmd --help 2>/dev/null | grep -o -- '--[a-z-]*' | sort -u)\"})\n"
    "    compadd -a flags\n"
    "    return\n"
    "  fi\n"
    "  case $cmd in\n"
    "    " NAMED ")\n"
    "      names=(${(f)\"$(vcluster list -o json 2>/dev/null | grep -o '\"Name\": \"[^\"]*' | cut -d'\"' -f4)\"})\n"
    "      compadd -a names ;;\n"
    "    completion) compadd bash zsh fish ;;\n"
    "    *) _files ;;\n"
    "  esac\n"
    "}\n"
    "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
    "  _vcluster \"$@\"\n"
    "else\n"
    "  compdef _vcluster vcluster\n"
    "fi\n";

static const char k_fish[] =
    "# fish completion for vcluster\n"
    "function __vcluster_flags\n"
    "    set -l cmd (commandline -opc)[2]\n"
    "    vcluster $cmd --help 2>/dev/null | string match -r -a -- '--[a-z-]+' | sort -u\n"
    "end\n"
    "function __vcluster_names\n"
    "    vcluster list -o json 2>/dev/null | string match -r -g -- '\"Name\": \"([^\"]*)\"'\n"
    "end\n"
    "complete -c vcluster -f\n"
    "complete -c vcluster -n __fish_use_subcommand -a '" COMMANDS "'\n"
    "complete -c vcluster -n 'not __fish_use_subcommand; and string match -q -- \"-*\" (commandline -ct)' "
    "-a '(__vcluster_flags)'\n"
    "complete -c vcluster -n '__fish_seen_subcommand_from " NAMED_WORDS "' -a '(__vcluster_names)'\n"
    "complete -c vcluster -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n"
    "complete -c vcluster -l log-output -x -a 'plain raw json'\n"
    "complete -c vcluster -s o -l output -x -a 'table json yaml'\n"
    "complete -c vcluster -l driver -x -a 'kubernetes local'\n"
    "complete -c vcluster -s f -l values -r -F\n";

int cmd_completion(int argc, char **argv)
{
    const char *script = NULL;
    if (argc == 2 && !strcmp(argv[1], "bash"))
        script = k_bash;
    else if (argc == 2 && !strcmp(argv[1], "zsh"))
        script = k_zsh;
    else if (argc == 2 && !strcmp(argv[1], "fish"))
        script = k_fish;
    if (!script) {
        cmd_completion_help(stderr);
        return CLI_USAGE;
    }
    fputs(script, stdout);
    return CLI_OK;
}
