#!/usr/bin/env python3
"""Converts limbo.json (x509-limbo) into limbo.cases, the line format the C
harness reads (C has no JSON parser here; this runs at build time).

Output: one record per test case, one field per line, "KEY VALUE":
    case <id>
    kind SERVER|CLIENT
    expected SUCCESS|FAILURE
    time <unix seconds>            only when validation_time is set
    name <DNS|IP|RFC822> <value>   one line per expected name (either field)
    eku <name>                     one line per extended_key_usage entry
    ku <name>                      one line per key_usage entry
    sigalg <name>                  one line per signature_algorithms entry
    maxdepth <n>                   only when max_chain_depth is set
    crls <n>                       number of CRLs (only when > 0)
    feature <name>                 one line per feature
    trusted <hex DER>              one line per trusted certificate
    untrusted <hex DER>            one line per untrusted intermediate
    leaf <hex DER>
    key <PEM type> <hex DER>       only when peer_certificate_key is set;
                                   the type is the PEM label ("EC PRIVATE KEY")
    end
Values never contain a newline. Anything unexpected aborts the build.
"""
import base64
import datetime
import json
import re
import sys

PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.S)


def pem_blocks(text):
    blocks = [(m.group(1), base64.b64decode("".join(m.group(2).split()), validate=True))
              for m in PEM.finditer(text)]
    if not blocks:
        raise ValueError("no PEM block in %r" % text[:60])
    return blocks


def one_line(s):
    s = str(s)
    if "\n" in s or "\r" in s:
        raise ValueError("newline in value %r" % s)
    return s


def convert(case, out):
    w = lambda *parts: out.append(" ".join(one_line(p) for p in parts))
    w("case", case["id"])
    if case["validation_kind"] not in ("SERVER", "CLIENT"):
        raise ValueError("validation_kind %r" % case["validation_kind"])
    w("kind", case["validation_kind"])
    if case["expected_result"] not in ("SUCCESS", "FAILURE"):
        raise ValueError("expected_result %r" % case["expected_result"])
    w("expected", case["expected_result"])
    if case.get("validation_time"):
        t = datetime.datetime.fromisoformat(case["validation_time"].replace("Z", "+00:00"))
        if t.tzinfo is None:
            raise ValueError("validation_time without a zone")
        w("time", int(t.timestamp()))
    names = []
    if case.get("expected_peer_name"):
        names.append(case["expected_peer_name"])
    names += case.get("expected_peer_names") or []
    for n in names:
        w("name", n["kind"], n["value"])
    for e in case.get("extended_key_usage") or []:
        w("eku", e)
    for k in case.get("key_usage") or []:
        w("ku", k)
    for s in case.get("signature_algorithms") or []:
        w("sigalg", s)
    if case.get("max_chain_depth") is not None:
        w("maxdepth", int(case["max_chain_depth"]))
    if case.get("crls"):
        w("crls", len(case["crls"]))
    for f in case.get("features") or []:
        w("feature", f)
    for pem in case.get("trusted_certs") or []:
        for _, der in pem_blocks(pem):
            w("trusted", der.hex())
    for pem in case.get("untrusted_intermediates") or []:
        for _, der in pem_blocks(pem):
            w("untrusted", der.hex())
    leaf = pem_blocks(case["peer_certificate"])
    if len(leaf) != 1:
        raise ValueError("peer_certificate holds %d blocks" % len(leaf))
    w("leaf", leaf[0][1].hex())
    if case.get("peer_certificate_key"):
        key = pem_blocks(case["peer_certificate_key"])
        if len(key) != 1:
            raise ValueError("peer_certificate_key holds %d blocks" % len(key))
        w("key", key[0][0].replace(" ", "_"), key[0][1].hex())
    w("end")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: limbo_convert.py limbo.json limbo.cases")
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for case in data["testcases"]:
        try:
            convert(case, out)
        except (KeyError, ValueError) as e:
            sys.exit("limbo_convert: case %s: %s" % (case.get("id"), e))
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
