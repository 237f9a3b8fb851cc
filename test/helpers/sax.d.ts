// The few parts of sax (a strict streaming XML parser, a devDependency) the tests use.
declare module 'sax' {
  interface QualifiedAttribute { name: string; value: string; prefix: string; local: string; uri: string }
  interface Tag { name: string; attributes: Record<string, string | QualifiedAttribute>; isSelfClosing: boolean; uri?: string; local?: string }
  interface SAXParser {
    onopentag: (tag: Tag) => void
    onclosetag: (name: string) => void
    ontext: (text: string) => void
    onerror: (err: Error) => void
    write(chunk: string): SAXParser
    close(): SAXParser
  }
  const sax: { parser(strict: boolean, opts?: { xmlns?: boolean; trim?: boolean; position?: boolean }): SAXParser }
  export default sax
}
