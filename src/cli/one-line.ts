/**
 * A message as one printable line: control characters from the input (a newline in a file name or
 * --set value, an escape sequence in a tag or a job's failure reason) are shown escaped, as JSON
 * would, not sent to the terminal.
 */
export const oneLine = (s: string): string =>
  s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
