"""Rendering benchmark for the seed issue (examples/issues/iom-central-asia-03*.md).

Prints, per language variant (times are CPU time, best of 25 rounds, measured the same
way in Python and in Node, so other load on the machine disturbs the ratio less):
- MJML -> HTML compile time with mjml-python, beside the official MJML (Node) on the same
  document in the same run (one Node process loops N renders and times them itself);
- the whole compile_issue pipeline (Markdown -> blocks -> Jinja2 -> MJML -> HTML + text);
- per-recipient personalisation rate (HTML + text merge) on one core.

Usage: python benchmarks/render.py [--renders N] [--recipients M]
The Node comparison needs node and npm; without them it is skipped with a message.
The first run installs the official mjml into benchmarks/node_modules (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailer.settings")

import django  # noqa: E402

django.setup()

from mjml import mjml2html  # noqa: E402

from mailer.rendering import ChromeContext, compile_issue, parse_issue  # noqa: E402

VARIANTS = {"en": ROOT / "examples/issues/iom-central-asia-03.md",
            "ru": ROOT / "examples/issues/iom-central-asia-03.ru.md"}
NODE_LOOP = r"""
const mjml2html = require(process.argv[1]);
const fs = require('fs');
const doc = fs.readFileSync(process.argv[2], 'utf8');
const n = parseInt(process.argv[3], 10);
for (let i = 0; i < 20; i++) mjml2html(doc, {validationLevel: 'soft'});
let size = 0;
let best = Infinity;
const rounds = 25, per = Math.max(1, Math.floor(n / rounds));
for (let r = 0; r < rounds; r++) {
  const start = process.cpuUsage();
  for (let i = 0; i < per; i++) size = mjml2html(doc, {validationLevel: 'soft'}).html.length;
  const used = process.cpuUsage(start);
  best = Math.min(best, (used.user + used.system) / 1e3 / per);
}
console.log(JSON.stringify({ms_per_render: best, html_chars: size}));
"""


def per_call_ms(fn, n: int, rounds: int = 25) -> float:
    """Best of ``rounds`` rounds (the same estimator as the Node loop): the least disturbed
    by other work on the machine."""
    for _ in range(min(20, n)):
        fn()
    per = max(1, n // rounds)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(per):
            fn()
        best = min(best, (time.process_time() - start) * 1000 / per)
    return best


def official_mjml_module() -> tuple[Path | None, str]:
    """(path of the official mjml package, or None, and why not)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "node/npm not found: official MJML comparison skipped (apt-get install nodejs npm)"
    module = HERE / "node_modules" / "mjml"
    if not module.is_dir():
        print("installing the official mjml into benchmarks/node_modules (npm install mjml)...",
              file=sys.stderr)
        result = subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                                 "mjml@4"], cwd=HERE, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not module.is_dir():
            return None, f"npm install mjml failed, comparison skipped: {result.stderr.strip()[-300:]}"
    return module, ""


def official_ms(module: Path, mjml: str, n: int) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".mjml", encoding="utf-8", delete=False) as fh:
        fh.write(mjml)
    try:
        out = subprocess.run(["node", "-e", NODE_LOOP, str(module), fh.name, str(n)],
                             capture_output=True, text=True, check=True)
    finally:
        os.unlink(fh.name)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return float(data["ms_per_render"]), int(data["html_chars"])


def merge_rate(compiled, recipients: int) -> float:
    values = [{"first_name": f"Name{i}", "name": f"Name{i} Family", "email": f"r{i}@example.org",
               "organisation": "Org", "unsubscribe_url": f"https://news.example.org/u/{i:08d}/",
               "preferences_url": f"https://news.example.org/p/{i:08d}/",
               "web_url": "https://news.example.org/archive/iom-3/en/"} for i in range(recipients)]
    html, text = compiled.html, compiled.text
    start = time.process_time()
    for v in values:
        html.render(v, escape_html=True)
        text.render(v, escape_html=False)
    return recipients / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--renders", type=int, default=500)
    parser.add_argument("--recipients", type=int, default=50_000)
    args = parser.parse_args()
    context = ChromeContext(site_url="http://127.0.0.1:8000", postal_address="Astana, Kazakhstan")
    module, why = official_mjml_module()
    if module is None:
        print(why)
    print(f"renders per figure: {args.renders}; recipients merged: {args.recipients}")
    for language, path in VARIANTS.items():
        parsed = parse_issue(path.read_text(encoding="utf-8"))
        compiled = compile_issue(parsed, language=language, context=context)
        mrml = per_call_ms(lambda m=compiled.mjml: mjml2html(m), args.renders)
        pipeline = per_call_ms(lambda p=parsed, lang=language: compile_issue(
            p, language=lang, context=context), max(20, args.renders // 4))
        size = len(compiled.html.source.encode())
        print(f"\n[{language}] HTML {size / 1024:.1f} KB")
        print(f"  mjml-python compile:     {mrml:8.3f} ms/render")
        if module is not None:
            node_ms, _ = official_ms(module, compiled.mjml, args.renders)
            print(f"  official MJML (Node):    {node_ms:8.3f} ms/render  "
                  f"-> mjml-python is {node_ms / mrml:.0f}x faster (goal >= 20x)")
        print(f"  whole compile_issue:     {pipeline:8.3f} ms/variant (Markdown..HTML+text+checks)")
        rate = merge_rate(compiled, args.recipients)
        print(f"  personalisation:         {rate:8.0f} recipients/s (HTML+text, one core; "
              "goal >= 20,000)")


if __name__ == "__main__":
    main()
