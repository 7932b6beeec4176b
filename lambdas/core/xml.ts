/**
 * XML as streamgate reads it, on fast-xml-parser: the well-formedness check that tells a good XML
 * record from a poison one, and the element tree the transform engine maps Siddhi's XML events from.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

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

/** An element: its local name (namespace prefix removed), its own text, trimmed, and its child elements. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

/**
 * Document order kept (repeated elements stay apart), attributes, declarations, processing
 * instructions and comments ignored, text kept as written (no number parsing, no trimming until the
 * pieces of an element are joined), character references decoded.
 */
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
});

/** fast-xml-parser's ordered output: `{ tag: children }` per element, `{ '#text': text }` per text. */
type OrderedNode = Record<string, unknown>;

/**
 * The root element of an XML document, or why it cannot be read: `not well-formed XML: …` (see
 * {@link isWellFormedXml}) or `unreadable XML: …` for a well-formed document the parser refuses
 * (an element named like `__proto__`, nesting too deep). Never throws.
 */
export function readXml(text: string): XmlElement | string {
  const wellFormed = isWellFormedXml(text);
  if (wellFormed !== true) return `not well-formed XML: ${wellFormed}`;
  try {
    const [root] = elementsOf(parser.parse(text) as OrderedNode[]);
    return root ?? 'unreadable XML: no root element';
  } catch (error) {
    return `unreadable XML: ${(error as Error).message}`;
  }
}

function elementsOf(nodes: OrderedNode[]): XmlElement[] {
  return nodes.flatMap((node) => {
    const name = Object.keys(node).find((key) => key !== '#text' && key !== ':@');
    return name === undefined ? [] : [elementOf(name, node[name] as OrderedNode[])];
  });
}

function elementOf(name: string, content: OrderedNode[]): XmlElement {
  const text = content.map((node) => ('#text' in node ? String(node['#text']) : '')).join('');
  return { name, text: text.trim(), children: elementsOf(content) };
}
