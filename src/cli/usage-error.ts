/** A command line agent-mesh cannot run: said in one line with the usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';

  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}
