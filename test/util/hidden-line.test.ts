// Table tests of the raw-mode line editor behind pancake-set-password's hidden prompt.
import { describe, expect, it } from 'vitest';
import { HiddenLineEditor, type LineEvent } from '../../src/util/hidden-line.js';

function feedAll(chunks: string[]): LineEvent[] {
  const editor = new HiddenLineEditor();
  return chunks.flatMap((c) => editor.feed(c));
}

describe('HiddenLineEditor', () => {
  it.each<[string, string[], LineEvent[]]>([
    ['Enter as CR', ['secret\r'], [{ type: 'line', text: 'secret' }]],
    ['Enter as LF', ['secret\n'], [{ type: 'line', text: 'secret' }]],
    ['keys one by one', ['s', 'e', 'c', '\r'], [{ type: 'line', text: 'sec' }]],
    ['a paste of two lines', ['one\rtwo\r'], [{ type: 'line', text: 'one' }, { type: 'line', text: 'two' }]],
    ['backspace (DEL and BS)', ['abx\u007fc\bd\r'], [{ type: 'line', text: 'abd' }]],
    ['backspace removes a whole emoji', ['a😀\u007f\r'], [{ type: 'line', text: 'a' }]],
    ['backspace on an empty line', ['\u007f\u007fa\r'], [{ type: 'line', text: 'a' }]],
    ['Ctrl-U clears the line', ['wrong\u0015right\r'], [{ type: 'line', text: 'right' }]],
    ['spaces and accents are kept', [' pä ss \r'], [{ type: 'line', text: ' pä ss ' }]],
    ['other control characters are dropped', ['a\u001bb\tc\r'], [{ type: 'line', text: 'abc' }]],
    ['Ctrl-C interrupts', ['abc\u0003'], [{ type: 'interrupt' }]],
    ['Ctrl-D on an empty line ends input', ['\u0004'], [{ type: 'end' }]],
    ['Ctrl-D after typing is ignored', ['ab\u0004c\r'], [{ type: 'line', text: 'abc' }]],
    ['an empty line is a line', ['\r'], [{ type: 'line', text: '' }]],
    ['no Enter yet, no line', ['typing'], []],
  ])('%s', (_name, chunks, events) => {
    expect(feedAll(chunks)).toEqual(events);
  });
});
