// Relative links in the project's Markdown, checked as GitHub resolves them: the target file or
// folder must exist inside the repository, and a `#fragment` on a Markdown file must be the
// anchor GitHub gives one of its headings (github-slugger, duplicates numbered). Links with a
// scheme (https:, mailto:) are external and not checked.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

let MarkdownIt, GithubSlugger
try {
  ;({ default: MarkdownIt } = await import('markdown-it'))
  ;({ default: GithubSlugger } = await import('github-slugger'))
} catch (error) {
  throw new Error(
    'tests/docs needs the npm packages markdown-it and github-slugger (package.json): run `make test-deps` (or `npm ci`)',
    { cause: error },
  )
}

const markdown = new MarkdownIt()

/** The Markdown files whose links are checked, repository-relative. */
export function documents(root) {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'), { recursive: true })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join('docs', name))
    : []
  return ['README.md', 'SECURITY.md', join('events', 'README.md'), ...docs.sort()]
}

/** Every `[text](href)` and `![alt](src)` in `source`, with the line it starts on (1-based). */
function links(source) {
  const found = []
  let line = 1
  for (const token of markdown.parse(source, {})) {
    if (token.map) line = token.map[0] + 1
    for (const child of token.children ?? []) {
      const href = child.type === 'link_open' ? child.attrGet('href') : child.type === 'image' ? child.attrGet('src') : null
      if (href !== null) found.push({ href, line })
    }
  }
  return found
}

/** The anchors GitHub gives the headings of `source`. */
function anchors(source) {
  const slugger = new GithubSlugger()
  const tokens = markdown.parse(source, {})
  const found = new Set()
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return
    const text = tokens[i + 1].children
      .filter((child) => child.type === 'text' || child.type === 'code_inline')
      .map((child) => child.content)
      .join('')
    found.add(slugger.slug(text))
  })
  return found
}

const EXTERNAL = /^([a-z][a-z0-9+.-]*:|\/\/)/i

/** Why `href`, written in `file`, does not resolve; null when it does (or is external). */
function problemWith(root, file, href) {
  if (href === '') return 'the link is empty'
  if (EXTERNAL.test(href)) return null
  const hash = href.indexOf('#')
  const pathPart = hash === -1 ? href : href.slice(0, hash)
  const fragment = hash === -1 ? null : decodeURIComponent(href.slice(hash + 1))
  const path = decodeURIComponent(pathPart.split('?')[0])
  const target = path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path)
  const shown = relative(root, target) || '.'
  if (target !== root && !target.startsWith(root + sep)) return `it points outside the repository (${path})`
  if (!existsSync(target)) return `no such file or folder: ${shown}`
  if (fragment === null) return null
  if (statSync(target).isDirectory()) return `a #fragment on a folder (${shown}) has no heading to point at`
  if (!target.endsWith('.md')) return null // line anchors (#L10) and the like are GitHub's
  if (fragment === '') return 'the #fragment is empty'
  if (!anchors(readFileSync(target, 'utf8')).has(fragment)) return `no heading in ${shown} has the anchor #${fragment}`
  return null
}

/** The broken relative links of `file` (repository-relative) as `{file, line, href, reason}`. */
export function brokenLinks(root, file) {
  const source = readFileSync(join(root, file), 'utf8')
  return links(source)
    .map(({ href, line }) => ({ file, line, href, reason: problemWith(root, file, href) }))
    .filter((link) => link.reason !== null)
}

/** One line per broken link: `file:line: link "href": reason`. */
export function report(broken) {
  return broken.map(({ file, line, href, reason }) => `${file}:${line}: link "${href}": ${reason}`).join('\n')
}
