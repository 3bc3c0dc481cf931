// Line editing for a terminal in raw mode (no echo): keystrokes in, finished lines out, as getpass does.

/** What the keystrokes so far amount to. */
export type LineEvent = { type: 'line'; text: string } | { type: 'interrupt' } | { type: 'end' };

/**
 * Collects typed characters into lines. Raw mode turns off the terminal's own line editing along
 * with its echo, so the usual keys are done here: Enter (CR or LF) ends a line, Backspace/Delete
 * removes the last character (a whole code point, not half an emoji), Ctrl-U clears the line,
 * Ctrl-C interrupts, Ctrl-D on an empty line ends input. Other control characters are dropped.
 */
export class HiddenLineEditor {
  private typed: string[] = [];

  /** Feeds one chunk (possibly several keys, or a paste of several lines) and returns the events it completes. */
  feed(chunk: string): LineEvent[] {
    const events: LineEvent[] = [];
    for (const ch of chunk) {
      if (ch === '\r' || ch === '\n') {
        events.push({ type: 'line', text: this.typed.join('') });
        this.typed = [];
      } else if (ch === '\u0003') {
        events.push({ type: 'interrupt' });
      } else if (ch === '\u0004') {
        if (this.typed.length === 0) events.push({ type: 'end' });
      } else if (ch === '\u007f' || ch === '\b') {
        this.typed.pop();
      } else if (ch === '\u0015') {
        this.typed = [];
      } else if (ch >= ' ') {
        this.typed.push(ch);
      }
    }
    return events;
  }
}
