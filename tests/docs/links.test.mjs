// Every relative link in the README, SECURITY.md, docs/ and events/README.md points at a file
// or folder of this repository, and every #fragment at a heading GitHub makes that anchor of.
//
//   node --test tests/docs/          (from the repository root; `make test-deps` installs what it needs)
//
// The checker itself is tested first, on a small repository made in a temporary folder, so a
// checker that found nothing could not pass for one that found no broken link.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brokenLinks, documents, report } from './links.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

describe('the link checker', () => {
  test('names the file, line, link and reason of each broken link, and passes good ones', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'taskgate-links-'))
    t.after(() => rmSync(root, { recursive: true, force: true }))
    mkdirSync(join(root, 'docs'))
    writeFileSync(join(root, 'docs', 'api.md'), '# API\n\n## Errors and the problem `type`\n\n## Errors and the problem `type`\n')
    writeFileSync(join(root, 'code.rs'), 'fn main() {}\n')
    writeFileSync(
      join(root, 'README.md'),
      [
        '# Demo',
        '',
        '[good](docs/api.md) [anchor](docs/api.md#errors-and-the-problem-type)',
        '[second heading of that name](docs/api.md#errors-and-the-problem-type-1) [here](#demo)',
        '[folder](docs/) [line](code.rs#L1) [web](https://example.com/missing) [mail](mailto:a@b.c)',
        '',
        '[missing](docs/nope.md)',
        '',
        '| a | b |',
        '|---|---|',
        '| [bad anchor](docs/api.md#nothing-here) | ![image](img/none.png) |',
        '',
        '[outside](../elsewhere.md) [own anchor](#no-such-heading) [ref]',
        '',
        '[ref]: docs/api.md#errors',
      ].join('\n'),
    )
    const broken = brokenLinks(root, 'README.md')
    assert.deepEqual(
      report(broken).split('\n'),
      [
        'README.md:7: link "docs/nope.md": no such file or folder: docs/nope.md',
        'README.md:11: link "docs/api.md#nothing-here": no heading in docs/api.md has the anchor #nothing-here',
        'README.md:11: link "img/none.png": no such file or folder: img/none.png',
        'README.md:13: link "../elsewhere.md": it points outside the repository (../elsewhere.md)',
        'README.md:13: link "#no-such-heading": no heading in README.md has the anchor #no-such-heading',
        'README.md:13: link "docs/api.md#errors": no heading in docs/api.md has the anchor #errors',
      ],
    )
  })
})

describe('links in the documentation', () => {
  for (const file of documents(ROOT)) {
    test(`${file}: every relative link resolves`, () => {
      const broken = brokenLinks(ROOT, file)
      assert.ok(broken.length === 0, `broken links:\n${report(broken)}`)
    })
  }
})
