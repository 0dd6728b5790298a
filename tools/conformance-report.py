#!/usr/bin/env python3
"""Writes docs/conformance.md from a conformance run (issue 6, part 5).

    python3 tools/conformance-report.py BUILD_DIR [--check] [--output FILE] [--limbo-json FILE]

BUILD_DIR is a configured and built meson build directory. The script asks
meson which tests exist (`meson introspect --tests`) and runs, with the
environment meson would give them:

  - every `conformance-<backend>` test with `--report FILE` (one JSON line for
    the backend, one per test: outcome pass / deviation / unsupported /
    skipped / fail, the deviation rows that answered, the capability bits
    found absent);
  - `conformance --list-deviations` (every row of conformance/deviations.c);
  - the `interop` test with `--report FILE` (one line per case and backend pair);
  - the x509-limbo harness (a test in suite `limbo`) with `--json FILE`, or
    the file given with --limbo-json.

The output is deterministic: sorted, no timestamps, timings or machine names
(only each library's release series is: a Debian point release must not make
the committed file stale). It is written to docs/conformance.md (or
--output). With --check nothing is written: the file is regenerated in memory
and compared, and a difference fails (CI runs this from tools/test-all.sh).

Exit status: 0 when everything passed (and, with --check, the file is current);
1 when a test failed, a runner failed or the file is stale (the report is
still written without --check, with the failures marked ✗, so they can be
read, but it must not be committed that way); 2 on a usage error.

Standard library only.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(ROOT, "docs", "conformance.md")
HEADER = os.path.join(ROOT, "include", "polytls", "polytls.h")
BACKEND_ORDER = ["openssl", "gnutls", "wolfssl"]  # the usual order; others follow, sorted


# --------------------------------------------------------------- running --

def introspect_tests(build_dir):
    out = subprocess.run(["meson", "introspect", "--tests", build_dir], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out)


def run_test_cmd(test, extra_args, problems, label, build_dir):
    """Runs a meson test's command with extra arguments, from where `meson test`
    would (its workdir, else the build directory); returns (status, output)."""
    env = dict(os.environ)
    env.update(test.get("env") or {})
    cmd = list(test["cmd"]) + list(extra_args)
    proc = subprocess.run(cmd, env=env, cwd=test.get("workdir") or build_dir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, errors="replace")
    if proc.returncode != 0:
        # cmocka's progress lines say nothing about the failure: keep the rest
        quiet = ("[ RUN", "[       OK", "[==========]", "[  PASSED", "[  SKIPPED")
        lines = [l for l in proc.stdout.splitlines() if not l.startswith(quiet)]
        problems.append("%s exited with %d:\n%s" % (label, proc.returncode, "\n".join(lines[-40:])))
    return proc.returncode, proc.stdout


def read_json_lines(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def backend_sort_key(name):
    return (BACKEND_ORDER.index(name) if name in BACKEND_ORDER else len(BACKEND_ORDER), name)


def collect(build_dir, limbo_json, problems):
    tests = introspect_tests(build_dir)
    data = {"backends": {}, "results": {}, "deviations": [], "interop": [], "limbo": None,
            "interop_ran": False}
    tmp = tempfile.mkdtemp(prefix="polytls-report-")
    try:
        conformance = sorted((t for t in tests if re.fullmatch(r"conformance-\w+", t["name"])),
                             key=lambda t: backend_sort_key(t["name"][len("conformance-"):]))
        if not conformance:
            problems.append("no conformance-<backend> test in %s" % build_dir)
        for t in conformance:
            backend = t["name"][len("conformance-"):]
            path = os.path.join(tmp, "conformance-%s.jsonl" % backend)
            status, _ = run_test_cmd(t, ["--report", path], problems, t["name"], build_dir)
            lines = read_json_lines(path)
            for row in lines:
                if row.get("type") == "backend":
                    data["backends"][row["backend"]] = row
                elif row.get("type") == "test":
                    data["results"].setdefault(row["backend"], {})[row["id"]] = row
            data["backends"].setdefault(backend, {"backend": backend})
            data["backends"][backend]["exit_status"] = status
        if conformance:
            # The table is the same in every runner; the first one lists it.
            t = dict(conformance[0])
            t["cmd"] = [c for c in t["cmd"]]
            # drop "--backend NAME": listing needs no backend
            cmd = []
            skip_next = False
            for c in t["cmd"]:
                if skip_next:
                    skip_next = False
                elif c == "--backend":
                    skip_next = True
                else:
                    cmd.append(c)
            t["cmd"] = cmd
            status, out = run_test_cmd(t, ["--list-deviations"], problems,
                                       "conformance --list-deviations", build_dir)
            if status == 0:
                data["deviations"] = [json.loads(l) for l in out.splitlines() if l.strip()]

        interop = [t for t in tests if t["name"] == "interop"]
        if interop:
            path = os.path.join(tmp, "interop.jsonl")
            run_test_cmd(interop[0], ["--report", path], problems, "interop", build_dir)
            data["interop"] = [r for r in read_json_lines(path) if r.get("type") == "test"]
            data["interop_ran"] = True

        if limbo_json:
            with open(limbo_json, encoding="utf-8") as f:
                data["limbo"] = json.load(f)
        else:
            # suites are listed as "project:suite"
            limbo = [t for t in tests if t["name"] == "limbo" or
                     any(s.split(":")[-1] == "limbo" for s in t.get("suite") or [])]
            if limbo:
                path = os.path.join(tmp, "limbo.json")
                # a later --json wins over the one in the test's own arguments
                run_test_cmd(sorted(limbo, key=lambda t: t["name"])[0], ["--json", path], problems,
                             "limbo", build_dir)
                if os.path.exists(path):
                    with open(path, encoding="utf-8") as f:
                        data["limbo"] = json.load(f)
                else:
                    problems.append("the limbo harness wrote no %s" % path)
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return data


# ------------------------------------------------------------- rendering --

def capability_bits():
    """Every POLYTLS_CAP_* bit of the public header: (bit value, name), by bit."""
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    caps = [(1 << int(shift), "POLYTLS_CAP_" + name)
            for name, shift in re.findall(r"POLYTLS_CAP_(\w+)\s*=\s*1u\s*<<\s*(\d+)", text)]
    return sorted(set(caps))


def short_cap(name, bits_by_value):
    if name.startswith("0x"):  # a bit the library cannot name yet
        name = bits_by_value.get(int(name, 16), name)
    return name[len("POLYTLS_"):] if name.startswith("POLYTLS_") else name


def library_series(backend, version):
    """"OpenSSL 3.0" for "OpenSSL 3.0.22 25 Aug 2026": the series, not the point release."""
    import re
    m = re.search(r"(\d+\.\d+)", version)
    family = {"openssl": "OpenSSL", "gnutls": "GnuTLS", "wolfssl": "wolfSSL"}.get(backend, backend)
    return "%s %s" % (family, m.group(1)) if m else family


def md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell(result, test_id, bits_by_value):
    if result is None:
        return "—"
    outcome = result["outcome"]
    if outcome == "pass":
        return "✓"
    if outcome == "deviation":
        labels = []
        for row in result["deviations"]:
            # a row for the whole test is "dev"; one for a check names it
            labels.append(row[len(test_id) + 1:] if row.startswith(test_id + "/") else
                          ("" if row == test_id else row))
        labels = [l for l in labels if l]
        return "dev" + (": " + ", ".join(md_escape(l) for l in labels) if labels else "")
    if outcome == "unsupported":
        return "unsup: " + ", ".join(short_cap(c, bits_by_value) for c in result["unsupported"])
    if outcome == "skipped":
        return "skipped"
    return "✗"


def pct(n, total):
    return "%d / %d (%.1f%%)" % (n, total, 100.0 * n / total) if total else "%d / 0" % n


def limbo_backends(doc):
    """The limbo scores per backend, from the harness's --json (version 1: a list
    of backends with polytls_* / raw_* counts, conformance/limbo/limbo.c) or from
    the first agreed schema ({"backends": {name: {"run", "skipped", "skip_reasons",
    "agree_expected", "agree_raw", "polytls_accepts_raw_rejects"}}})."""
    if not doc:
        return {}
    out = {}
    entries = doc.get("backends") or []
    if isinstance(entries, dict):
        entries = [dict(v, name=k) for k, v in entries.items()]
    for e in entries:
        first = lambda *keys: next((e[k] for k in keys if k in e), None)
        run = int(first("polytls_run", "run") or 0)
        both = first("both_run")
        disagree = []
        for r in e.get("results") or []:
            p, raw = r.get("polytls"), r.get("raw")
            if p != raw and p not in (None, "SKIP") and raw not in (None, "SKIP"):
                disagree.append((r.get("id", "?"), p, raw))
        out[e["name"]] = {
            "run": run,
            "skipped": int(first("polytls_skipped", "skipped") or 0),
            "errors": first("polytls_errors"),
            "agree_expected": int(first("polytls_agrees_expected", "agree_expected") or 0),
            "raw_run": first("raw_run"),
            "raw_agree_expected": int(first("raw_agrees_expected") or 0),
            "both_run": int(both) if both is not None else run,
            "agree_raw": int(first("polytls_agrees_raw", "agree_raw") or 0),
            "accepts_raw_rejects": sorted(e.get("polytls_accepts_raw_rejects") or []),
            "skip_reasons": dict(e.get("skip_reasons") or {}),
            "disagree_raw": sorted(disagree),
        }
    return out


def render(data):
    bits = capability_bits()
    bits_by_value = dict(bits)
    backends = sorted(data["backends"], key=backend_sort_key)
    results = data["results"]
    out = []
    w = out.append

    w("# Conformance report")
    w("")
    w("<!-- Generated by tools/conformance-report.py: do not edit by hand. -->")
    w("")
    w("This file is generated from a conformance run by")
    w("")
    w("    python3 tools/conformance-report.py BUILD_DIR")
    w("")
    w("which runs the conformance suite on every built backend (`conformance --backend NAME "
      "--report FILE`), the interop suite (`interop --report FILE`), the x509-limbo harness "
      "(`--json FILE`) and `conformance --list-deviations`, and rewrites this file. CI "
      "(`tools/test-all.sh`) runs it with `--check` on its build and fails when this file is "
      "stale or a test failed: regenerate it and commit it with the change that alters it.")
    w("")
    w("Outcomes: **✓** the standard behaviour; **dev** a documented deviation (a row of "
      "`conformance/deviations.c`, explained at the end; `dev: check` names the check inside "
      "the test); **unsup: CAP_X** the backend lacks that capability bit and the test checked "
      "that the feature is refused with `POLYTLS_ERR_UNSUPPORTED`; **skipped** the test could "
      "not run here (e.g. no `openssl` command); **✗** failed; **—** not run on that backend.")
    w("")

    # ---- summary
    w("## Summary")
    w("")
    w("| backend | library series | tests | ✓ | dev | unsup | skipped | ✗ |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for b in backends:
        info = data["backends"][b]
        rs = results.get(b, {}).values()
        count = lambda o: sum(1 for r in rs if r["outcome"] == o)
        w("| %s | %s | %d | %d | %d | %d | %d | %d |" % (
            b, md_escape(library_series(b, info.get("version", "?"))),
            len(rs), count("pass"), count("deviation"), count("unsupported"), count("skipped"),
            count("fail")))
    w("")

    # ---- test x backend
    w("## Tests × backends")
    w("")
    ids = sorted({i for b in backends for i in results.get(b, {})})
    groups = []
    for i in ids:
        g = i.split(".", 1)[0]
        if not groups or groups[-1][0] != g:
            groups.append((g, []))
        groups[-1][1].append(i)
    for g, members in groups:
        w("### %s" % g)
        w("")
        w("| test | " + " | ".join(backends) + " |")
        w("|---|" + "---|" * len(backends))
        for i in members:
            w("| `%s` | " % i + " | ".join(cell(results.get(b, {}).get(i), i, bits_by_value)
                                           for b in backends) + " |")
        w("")

    # ---- capabilities
    w("## Capability matrix")
    w("")
    w("`polytls_backend_capabilities()` per backend (the bits are documented in "
      "`include/polytls/polytls.h`). A feature whose bit is absent returns "
      "`POLYTLS_ERR_UNSUPPORTED`; the tests marked *unsup* above check exactly that.")
    w("")
    w("| capability | " + " | ".join(backends) + " |")
    w("|---|" + ":---:|" * len(backends))
    for value, name in bits:
        row = []
        for b in backends:
            caps = data["backends"][b].get("capabilities")
            if caps is None:
                row.append("?")
            else:
                have = {bits_by_value.get(int(c, 16), c) if c.startswith("0x") else c for c in caps}
                row.append("✓" if name in have else "—")
        w("| `%s` | " % name + " | ".join(row) + " |")
    w("")

    # ---- interop
    w("## Interop matrix")
    w("")
    if not data["interop_ran"]:
        w("The interop suite was not part of this build.")
        w("")
    else:
        inter = data["interop"]
        clients = sorted({r["client"] for r in inter}, key=backend_sort_key)
        servers = sorted({r["server"] for r in inter}, key=backend_sort_key)
        w("Every client backend × every server backend in one process (`conformance/interop.c`). "
          "A cell counts the cases that passed out of those run; skipped cases (a capability one "
          "side lacks) are not counted.")
        w("")
        w("| client ↓ server → | " + " | ".join(servers) + " |")
        w("|---|" + ":---:|" * len(servers))
        for c in clients:
            row = []
            for s in servers:
                rs = [r for r in inter if r["client"] == c and r["server"] == s]
                ran = [r for r in rs if r["outcome"] != "skipped"]
                ok = sum(1 for r in ran if r["outcome"] == "pass")
                row.append(("✓ " if ok == len(ran) and ran else "✗ ") + "%d/%d" % (ok, len(ran)))
            w("| **%s** | " % c + " | ".join(row) + " |")
        w("")
        pairs = [(c, s) for c in clients for s in servers]
        cases = sorted({r["id"] for r in inter})
        by_key = {(r["client"], r["server"], r["id"]): r for r in inter}
        w("| case | " + " | ".join("%s→%s" % p for p in pairs) + " |")
        w("|---|" + ":---:|" * len(pairs))
        for i in cases:
            w("| `%s` | " % i + " | ".join(cell(by_key.get((c, s, i)), i, bits_by_value)
                                           for c, s in pairs) + " |")
        w("")

    # ---- limbo
    w("## x509-limbo")
    w("")
    lb = limbo_backends(data["limbo"])
    if not lb:
        w("No x509-limbo results in this run (no harness in suite `limbo`).")
        w("")
    else:
        names = sorted(lb, key=backend_sort_key)
        w("Every case of `conformance/limbo/limbo.json` (C2SP x509-limbo) run through polytls "
          "verification on each backend and through that backend's library used directly "
          "(*raw*; `conformance/limbo/`). A case polytls cannot express is skipped with its "
          "reason. *Agrees with expected*: out of the cases run; *agrees with raw*: out of the "
          "cases both ran. polytls must never accept what its raw library rejects.")
        w("")
        w("| backend | run | skipped | errors | agrees with expected | raw agrees with expected "
          "| agrees with raw | accepts what raw rejects |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for b in names:
            s = lb[b]
            raw = pct(s["raw_agree_expected"], s["raw_run"]) if s["raw_run"] is not None else "—"
            w("| %s | %d | %d | %s | %s | %s | %s | %d |" % (
                b, s["run"], s["skipped"], s["errors"] if s["errors"] is not None else "—",
                pct(s["agree_expected"], s["run"]), raw, pct(s["agree_raw"], s["both_run"]),
                len(s["accepts_raw_rejects"])))
        w("")
        reasons = sorted({r for b in names for r in lb[b]["skip_reasons"]})
        if reasons:
            w("Cases skipped, by reason:")
            w("")
            w("| reason | " + " | ".join(names) + " |")
            w("|---|" + "---:|" * len(names))
            for r in reasons:
                w("| %s | " % md_escape(r) + " | ".join(
                    str(lb[b]["skip_reasons"].get(r, 0)) for b in names) + " |")
            w("")
        for b in names:
            bad = lb[b]["accepts_raw_rejects"]
            if bad:
                w("**%s: polytls accepts what the raw library rejects:** %s" % (
                    b, ", ".join("`%s`" % md_escape(i) for i in bad)))
                w("")
        disagree = [(b, i, p, r) for b in names for i, p, r in lb[b]["disagree_raw"]]
        if disagree:
            w("Cases where polytls and the raw library disagree (both ran; ERROR is a verdict "
              "that is neither a clean accept nor a clean reject):")
            w("")
            w("| backend | case | polytls | raw |")
            w("|---|---|---|---|")
            for b, i, p, r in disagree:
                w("| %s | `%s` | %s | %s |" % (b, md_escape(i), p, r))
            w("")

    # ---- deviations
    w("## Deviations explained")
    w("")
    devs = sorted(data["deviations"], key=lambda d: (d["id"], backend_sort_key(d["backend"])))
    if not devs:
        w("The deviations table is empty: every backend behaves the standard way in every test.")
        w("")
    else:
        w("Every row of `conformance/deviations.c`: where a backend differs from the standard "
          "expectation of a test, what is observed, and why. *Normalisable* rows are ones the "
          "core could make standard, and should.")
        w("")
    for d in devs:
        w("### `%s` on %s" % (d["id"], d["backend"]))
        w("")
        w("- **Observed:** %s" % d["observed"])
        w("- **Reason:** %s" % d["reason"])
        w("- **Normalisable by the core:** %s" % ("yes" if d.get("normalisable") else "no"))
        w("")

    return "\n".join(out).rstrip("\n") + "\n"


def failures_of(data):
    found = []
    for b, rs in sorted(data["results"].items()):
        found += ["%s on %s" % (i, b) for i, r in sorted(rs.items()) if r["outcome"] == "fail"]
    found += ["%s %s client -> %s server" % (r["id"], r["client"], r["server"])
              for r in data["interop"] if r["outcome"] == "fail"]
    for b, s in sorted(limbo_backends(data["limbo"]).items()):
        if s["accepts_raw_rejects"]:
            found.append("x509-limbo on %s: polytls accepts what the raw library rejects" % b)
    return found


def main():
    ap = argparse.ArgumentParser(description="Regenerates docs/conformance.md from a conformance run.")
    ap.add_argument("build_dir", help="a configured and built meson build directory")
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed file instead of writing it; fail when it differs")
    ap.add_argument("--output", default=DEFAULT_OUTPUT, help="the file to write or check")
    ap.add_argument("--limbo-json", help="x509-limbo results to use instead of running the harness")
    args = ap.parse_args()

    problems = []
    data = collect(args.build_dir, args.limbo_json, problems)
    text = render(data)
    failed = failures_of(data)
    status = 0

    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                             args.output, "regenerated", lineterm="", n=1))
            print("%s is stale (%d changed lines); regenerate it with:\n"
                  "    python3 tools/conformance-report.py BUILD_DIR" % (
                      args.output, sum(1 for l in diff if l[:1] in "+-") - 2))
            print("\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else ""))
            status = 1
        else:
            print("%s is current" % args.output)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote %s" % args.output)

    for p in problems:
        print(p)
    if failed:
        print("failed (%d): %s" % (len(failed), ", ".join(failed)))
    if problems or failed:
        print("the run has failures: do not commit this report")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
