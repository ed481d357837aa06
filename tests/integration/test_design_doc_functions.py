"""Every map, reduce and list function under couchdb_views/ is one ES5 function expression
(CouchDB 3's SpiderMonkey runs ES5 only) that runs without throwing on each Kazoo fixture
document; Node (which runs the embedded CouchDB too) checks them.

The embedded server is no check here: it answers an empty result for a map that does not compile
and a null value for a reduce that throws, where CouchDB 3 answers an error."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "couchdb_views"
FIXTURES = ROOT / "tests" / "fixtures" / "kazoo"
FILES = sorted(VIEWS.glob("*/*.json"))

# acorn is in couchdb_server's locked node_modules (a dependency of express-pouchdb's packages).
CHECK_JS = r"""
const acorn = require(process.argv[1]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const problems = [];
function compile(where, src) {
  let ast;
  try {
    ast = acorn.parse('(' + src + '\n)', {ecmaVersion: 5});
  } catch (e) {
    problems.push(where + ': not ES5: ' + e.message);
    return null;
  }
  const body = ast.body;
  if (body.length !== 1 || body[0].type !== 'ExpressionStatement' || body[0].expression.type !== 'FunctionExpression') {
    problems.push(where + ': not one function expression');
    return null;
  }
  return src;
}
for (const file of input.files) {
  const ddoc = file.doc;
  for (const [name, view] of Object.entries(ddoc.views)) {
    const where = file.path + ' ' + name;
    const map = compile(where + ' map', view.map);
    if (view.reduce && !view.reduce.startsWith('_')) compile(where + ' reduce', view.reduce);
    if (!map) continue;
    const rows = [];
    const fn = new Function('emit', 'return (' + map + '\n);')(function (k, v) { rows.push([k, v]); });
    for (const doc of input.docs) {
      try {
        fn(JSON.parse(JSON.stringify(doc)));
      } catch (e) {
        problems.push(where + ': throws on ' + doc._id + ': ' + e.message);
      }
    }
  }
  for (const [name, src] of Object.entries(ddoc.lists || {})) compile(file.path + ' list ' + name, src);
}
process.stdout.write(JSON.stringify(problems));
"""


def kazoo_docs() -> list[dict]:
    docs = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text())
        for doc in data if isinstance(data, list) else [data]:
            if isinstance(doc, dict) and "_id" in doc:
                docs.append(doc)
    return docs


def test_functions_are_es5_and_run_on_kazoo_documents() -> None:
    node = shutil.which("node")
    assert node, "node is needed (it runs the embedded CouchDB too)"
    acorn = ROOT / "couchdb_server" / "node_modules" / "acorn"
    assert acorn.is_dir(), "run `make install` (couchdb_server/node_modules)"
    docs = kazoo_docs()
    assert len(docs) >= 8
    files = [{"path": str(p.relative_to(VIEWS)), "doc": json.loads(p.read_text())} for p in FILES]
    out = subprocess.run(
        [node, "-e", CHECK_JS, str(acorn)],
        input=json.dumps({"files": files, "docs": docs}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout) == []


def test_the_check_catches_what_couchdb_would_refuse() -> None:
    """The checker itself: ES2015 syntax, two statements and a throwing map are reported."""
    node = shutil.which("node")
    assert node
    acorn = ROOT / "couchdb_server" / "node_modules" / "acorn"
    bad = {
        "_id": "_design/bad",
        "views": {
            "arrow": {"map": "(doc) => emit(doc._id, null)"},
            "let": {"map": "function (doc) { let x = 1; emit(x, null); }"},
            "two": {"map": "function (doc) {} function (doc) {}"},
            "throws": {"map": "function (doc) { emit(doc.nope.nope, null); }"},
            "reduce": {"map": "function (doc) {}", "reduce": "function (k, v) { return v.map(x => x); }"},
        },
    }
    out = subprocess.run(
        [node, "-e", CHECK_JS, str(acorn)],
        input=json.dumps({"files": [{"path": "bad.json", "doc": bad}], "docs": [{"_id": "d"}]}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    problems = json.loads(out.stdout)
    for name in ("arrow map", "let map", "two map", "throws", "reduce reduce"):
        assert any(f"bad.json {name}" in p for p in problems), (name, problems)
