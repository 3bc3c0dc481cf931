// The one error every converter raises, with the output a user needs to see why.

/** Raised when a conversion fails; `output` holds what a user needs to see why. */
export class ConvertError extends Error {
  readonly code = 'ERR_CONVERT';
  /** Command line, exit code or signal and the last lines of the tool's stderr (builtin: the reason). */
  readonly output: string;

  constructor(message: string, output: string) {
    super(message);
    this.name = 'ConvertError';
    this.output = output;
  }
}
