"""The console's number-file reader (ui/numberfile.js) and failures CSV (ui/numbers.js) in headless
Chromium against the shared vectors in tests/fixtures/number_files/ (docs/number-files.md); the
Python reader passes the same ones (tests/unit/test_number_files.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "number_files"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in VECTORS.glob("*.expected.json"))

READ_ALL = """async (files) => {
    const { readNumbers, compileRules } = await import('./numberfile.js');
    const defaults = await (await fetch('defaults.json')).json();
    const rules = compileRules(defaults.number_manager);
    const out = {};
    for (const [name, b64] of Object.entries(files)) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        // as the console reads a chosen or dropped file
        const text = await new File([bytes], name).text();
        out[name] = readNumbers(text, rules);
    }
    return out;
}"""


async def test_every_vector_reads_as_expected_in_the_console(page, client):
    await page.goto("/ui/")
    files = {name: base64.b64encode((VECTORS / name).read_bytes()).decode() for name in NAMES}
    got = await page.evaluate(READ_ALL, files)
    assert len(got) == len(NAMES) >= 12
    for name in NAMES:
        assert got[name] == json.loads((VECTORS / f"{name}.expected.json").read_text()), name
    big = got["issue_2000_rows.csv"]
    assert len(big["numbers"]) == 1985 and len(big["skipped"]) == 15
    assert page.problems == []


async def test_the_failures_csv_vector_in_the_console(page, client):
    await page.goto("/ui/")
    spec = json.loads((VECTORS / "failures.json").read_text())
    csv = await page.evaluate(
        """async (rows) => {
        const { failuresCsv, jobFailure, skippedRow } = await import('./numbers.js');
        return failuresCsv(rows.map((r) => (r.kind === 'job'
            ? jobFailure(r.number, r.error, r.job_id, r.line) : skippedRow(r))));
    }""",
        spec["rows"],
    )
    assert csv == spec["csv"]


async def test_defaults_json_is_built_from_system_config(client):
    from kazoo_crossbar.storage.system_config import shipped_defaults

    resp = await client.get("/ui/defaults.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    shipped = shipped_defaults()
    assert body == {c: shipped[c]["default"] for c in ("crossbar.resources", "number_manager")}
