/**
 * A failure the operator can fix from its message alone (a busy port, a missing binary): the CLI
 * prints it as one line, without a stack trace.
 */
export class LauncherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LauncherError';
  }
}
