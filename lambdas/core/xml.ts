import { XMLValidator } from 'fast-xml-parser';

/** `true` for a well-formed XML document, else what is wrong (with line and column). */
export function isWellFormedXml(text: string): true | string {
  if (text.trim() === '') return 'the document is empty';
  const result = XMLValidator.validate(text);
  if (result === true) return true;
  // The validator reports unclosed elements as a JSON-ish list: name them instead.
  const unclosed = /^Invalid '\[([\s\S]*)\]' found\.?$/.exec(result.err.msg);
  if (unclosed) {
    const names = [...(unclosed[1] as string).matchAll(/"([^"]+)"/g)].map((m) => `<${m[1]}>`);
    return `unclosed element${names.length === 1 ? '' : 's'} ${names.join(', ')} at the end of the document`;
  }
  return `${result.err.msg} (line ${result.err.line}, column ${result.err.col})`;
}
