/**
 * `vaultpilot completion bash|zsh`: a completion script built from the command table, so a new
 * command completes without editing it. zsh runs the bash function through bashcompinit.
 */
import type { ClientCommand } from './command.js';
import { EXIT_OK } from './command.js';
import { CliUsageError } from './errors.js';

/** The data-directory commands (lambdas/local/cli.ts), which complete by name only. */
const LOCAL_COMMAND_WORDS: readonly (readonly string[])[] = [
  ['users', 'add'],
  ['users', 'list'],
  ['clients', 'add'],
  ['clients', 'list'],
  ['rewrap'],
  ['audit', 'public-key'],
];

const COMMON_OPTION_NAMES = ['-profile', '-address', '-format', '--json', '--help'];

function shellWords(words: readonly string[]): string {
  return words.join(' ').replace(/[^A-Za-z0-9 ._-]/g, '');
}

export function bashCompletion(commands: readonly ClientCommand[]): string {
  const all: readonly (readonly string[])[] = [
    ...commands.map((command) => command.words),
    ...LOCAL_COMMAND_WORDS,
  ];
  const next = new Map<string, Set<string>>();
  for (const words of all) {
    for (let index = 0; index < words.length; index += 1) {
      const prefix = words.slice(0, index).join(' ');
      const word = words[index] ?? '';
      next.set(prefix, (next.get(prefix) ?? new Set()).add(word));
    }
  }
  const cases = [...next.entries()].map(
    ([prefix, words]) => `    "${shellWords([prefix])}") words="${shellWords([...words])}" ;;`,
  );
  for (const command of commands) {
    const options = [...Object.keys(command.options).map((name) => `-${name}`), ...COMMON_OPTION_NAMES];
    cases.push(`    "${shellWords(command.words)}") words="${shellWords(options)}" ;;`);
  }
  cases.push(`    "completion") words="bash zsh" ;;`);
  return `# vaultpilot completion for bash (and zsh through bashcompinit)
_vaultpilot() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" line="" word words=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) break ;; esac
    line="\${line:+$line }$word"
  done
  case "$line" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _vaultpilot vaultpilot
`;
}

export function completionCommand(commands: () => Promise<readonly ClientCommand[]>): ClientCommand {
  return {
    words: ['completion'],
    summary: 'print a shell completion script (bash or zsh)',
    help: `Usage: vaultpilot completion bash|zsh

Prints a completion script for commands, subcommands and options. Add to ~/.bashrc:
  source <(vaultpilot completion bash)
or to ~/.zshrc:
  source <(vaultpilot completion zsh)`,
    options: {},
    async run(context) {
      const [shell, extra] = context.args.positionals;
      if (extra !== undefined) throw new CliUsageError(`unexpected argument '${extra}'`);
      if (shell !== 'bash' && shell !== 'zsh') throw new CliUsageError('give the shell: bash or zsh');
      const script = bashCompletion(await commands());
      context.io.stdout.write(
        shell === 'zsh'
          ? `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${script}`
          : script,
      );
      return EXIT_OK;
    },
  };
}
