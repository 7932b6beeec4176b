/**
 * XML as streamgate reads it, on fast-xml-parser: the well-formedness check that tells a good XML
 * record from a poison one, and the element tree the transform engine maps Siddhi's XML events from.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Elements nest at most this deep; deeper documents are refused before they are parsed. */
export const MAX_XML_DEPTH = 100;

/**
 * `true` for a well-formed XML 1.0 document, else what is wrong (with line and column where the
 * validator gives them). Beyond fast-xml-parser's validator: every character, written or referenced
 * (`&#…;`), must be an XML 1.0 `Char` (§2.2: no NUL, no other C0 control but tab, LF and CR, no
 * surrogate, nothing above U+10FFFF), and elements nest at most {@link MAX_XML_DEPTH} deep. Never
 * throws.
 */
export function isWellFormedXml(text: string): true | string {
  if (text.trim() === '') return 'the document is empty';
  const character = illegalCharacter(text);
  if (character) return character;
  const depth = nestingDepth(text);
  if (depth > MAX_XML_DEPTH) return `elements nest deeper than ${MAX_XML_DEPTH} levels`;
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

/** XML 1.0 §2.2 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
export function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

// Raw characters outside Char. With the `u` flag a valid surrogate pair is one (astral) character,
// so the surrogate range matches lone halves only.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const ILLEGAL_RAW = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;
const CHARACTER_REFERENCE = /&#(x[0-9a-fA-F]+|[0-9]+);/g;

/** The first character (written or referenced) that is not an XML 1.0 Char, described; else undefined. */
function illegalCharacter(text: string): string | undefined {
  const raw = ILLEGAL_RAW.exec(text);
  if (raw) {
    const code = raw[0].codePointAt(0) as number;
    return `character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML 1.0`;
  }
  for (const [reference, digits] of text.matchAll(CHARACTER_REFERENCE)) {
    const value = digits?.startsWith('x') ? Number.parseInt(digits.slice(1), 16) : Number(digits);
    if (!isXmlChar(value)) return `character reference ${reference} is not an XML 1.0 character`;
  }
  return undefined;
}

/**
 * How deep elements nest, counted over start and end tags (comments, CDATA, declarations and
 * processing instructions skipped). Iterative: a hostile document cannot exhaust the stack here.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const [tag] of text.matchAll(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[!?][^>]*>|<\/?[^>]*>/g)) {
    if (tag.startsWith('<!') || tag.startsWith('<?')) continue;
    if (tag.startsWith('</')) depth--;
    else if (!tag.endsWith('/>')) deepest = Math.max(deepest, ++depth);
  }
  return deepest;
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
  maxNestedTags: MAX_XML_DEPTH,
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
