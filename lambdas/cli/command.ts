/** The shape of a client command; main.ts dispatches on `words`. */
import type { ApiClient } from './api.js';
import type { OptionSpecs, ParsedArguments } from './args.js';
import type { ClientIo } from './io.js';
import type { OutputFormat } from './output.js';
import type { ProfileStore } from './profiles.js';

export interface CommandContext {
  readonly io: ClientIo;
  readonly args: ParsedArguments;
  readonly format: OutputFormat;
  readonly profileName: string;
  readonly profiles: ProfileStore;
  /** The API of the profile (or VAULTPILOT_ADDR / -address), with its token. */
  api(): Promise<ApiClient>;
}

export interface ClientCommand {
  readonly words: readonly string[];
  readonly summary: string;
  /** Shown by `--help`; the common options are appended. */
  readonly help: string;
  readonly options: OptionSpecs;
  /** Checks its arguments before its first request, so a usage error never waits on a server. */
  run(context: CommandContext): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
