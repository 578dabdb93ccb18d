// `lifeboat completion bash|zsh`: a completion script made from the command tree itself, so
// that it never falls behind the commands: for each command path, its subcommands and
// options.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli.h"

namespace lifeboat::cli {
namespace {

// "_" is the top level ("" cannot be a key of a bash associative array); "_ jobs list".
void Collect(const CLI::App& app, const std::string& path,
             std::map<std::string, std::string>& words) {
  std::string list;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty()) continue;
    list += (list.empty() ? "" : " ") + sub->get_name();
    Collect(*sub, path + " " + sub->get_name(), words);
  }
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& name : opt->get_lnames()) list += (list.empty() ? "--" : " --") + name;
  }
  words[path] = list;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Bash(const std::map<std::string, std::string>& words) {
  std::string out =
      "# lifeboat completion for bash. Load it with:\n"
      "#   source <(lifeboat completion bash)\n"
      "_lifeboat() {\n"
      "  local -A lb_words=(\n";
  for (const auto& [path, list] : words) out += "    [" + Quote(path) + "]=" + Quote(list) + "\n";
  out +=
      "  )\n"
      "  local lb_path=_ i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    [[ -n \"${lb_words[$lb_path ${COMP_WORDS[i]}]}\" ]] && lb_path=\"$lb_path "
      "${COMP_WORDS[i]}\"\n"
      "  done\n"
      "  COMPREPLY=($(compgen -W \"${lb_words[$lb_path]}\" -- \"${COMP_WORDS[COMP_CWORD]}\"))\n"
      "}\n"
      "complete -o default -F _lifeboat lifeboat\n";
  return out;
}

std::string Zsh(const std::map<std::string, std::string>& words) {
  std::string out =
      "#compdef lifeboat\n"
      "# lifeboat completion for zsh. Load it (after compinit) with:\n"
      "#   source <(lifeboat completion zsh)\n"
      "_lifeboat() {\n"
      "  local -A lb_words\n"
      "  lb_words=(\n";
  for (const auto& [path, list] : words) out += "    " + Quote(path) + " " + Quote(list) + "\n";
  out +=
      "  )\n"
      "  local lb_path=_ i\n"
      "  for (( i = 2; i < CURRENT; i++ )); do\n"
      "    [[ -n \"${lb_words[$lb_path ${words[i]}]}\" ]] && lb_path=\"$lb_path ${words[i]}\"\n"
      "  done\n"
      "  compadd -- ${=lb_words[$lb_path]}\n"
      "}\n"
      "compdef _lifeboat lifeboat\n";
  return out;
}

}  // namespace

void AddCompletionCommand(CLI::App& app, int* exit_code) {
  static std::string shell;
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script");
  cmd->add_option("SHELL", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->footer(
      "Examples:\n  source <(lifeboat completion bash)        # in ~/.bashrc\n"
      "  source <(lifeboat completion zsh)         # in ~/.zshrc, after compinit");
  CLI::App* root = &app;
  cmd->callback([root, exit_code] {
    std::map<std::string, std::string> words;
    Collect(*root, "_", words);
    std::cout << (shell == "bash" ? Bash(words) : Zsh(words));
    *exit_code = kExitOk;
  });
}

}  // namespace lifeboat::cli
