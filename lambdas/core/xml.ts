import { XMLValidator } from 'fast-xml-parser';

/** `true` for a well-formed XML document, else what is wrong (with line and column). */
export function isWellFormedXml(text: string): true | string {
  if (text.trim() === '') return 'the document is empty';
  const result = XMLValidator.validate(text);
  if (result === true) return true;
  return `${result.err.msg} (line ${result.err.line}, column ${result.err.col})`;
}
