#!/usr/bin/env python3
"""Turns `perf script` output (the BFF under wrk load, DWARF call graphs) into `BENCH profile.*` lines for
report.py: the functions with the most self time, and the share of samples spent inside each subsystem
(inclusive: a sample counts for every subsystem on its stack). With a third argument, also writes folded stacks
(`frame;frame;... count`, leaf last) for a flame graph tool. Usage: profile.py PERF_SCRIPT.txt [FOLDED.txt]"""
import collections
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")

# Subsystems, by a pattern a frame's symbol matches; first match wins for the label, a sample counts once per
# subsystem. Ordered from the request's edge inwards.
SUBSYSTEMS = [
    ("kernel (syscalls, loopback TCP, scheduling)", re.compile(r"^\[k\]")),
    ("hyper server (HTTP/1 parse, write)", re.compile(r"hyper::proto::h1|hyper::server")),
    ("axum router + tower layers", re.compile(r"^axum::|tower_http::|tower::")),
    ("tracing (request span, fmt subscriber)", re.compile(r"tracing_subscriber|tracing_core|tracing::span")),
    ("request id (uuid v4)", re.compile(r"uuid::|MakeRequestUuid|getrandom")),
    ("CSRF check", re.compile(r"bff::csrf")),
    ("session lookup (cookie, store)", re.compile(r"bff::session::")),
    ("SHA-256", re.compile(r"sha2::")),
    ("proxy handler (bff::proxy)", re.compile(r"bff::proxy::")),
    ("reqwest client (request build, send)", re.compile(r"reqwest::")),
    ("hyper client (pool, HTTP/1)", re.compile(r"hyper_util::client|hyper::client")),
    ("metrics", re.compile(r"bff::metrics")),
    ("tokio runtime (scheduler, I/O driver)", re.compile(r"^tokio::runtime|^tokio::io|^mio::")),
    ("malloc/free", re.compile(r"^(malloc|free|realloc|calloc|cfree|_int_malloc|_int_free|__libc_malloc|__libc_free|malloc_consolidate|tcache)")),
    ("memcpy/memmove", re.compile(r"^__mem(cpy|move|set)|^mem(cpy|move|set)")),
]


def frames_of(block):
    """The symbols of one sample, leaf first."""
    out = []
    for line in block[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = rest[rest.rfind("(") + 1:-1] if rest.endswith(")") else ""
        sym = rest[: rest.rfind("(")].strip() if "(" in rest else rest
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        sym = HASH.sub("", sym)
        if "kernel.kallsyms" in dso or dso.startswith("[kernel"):
            sym = "[k] " + sym
        elif sym == "[unknown]":
            sym = f"[unknown] ({dso.rsplit('/', 1)[-1]})"
        out.append(sym)
    return out


def main():
    text = open(sys.argv[1], errors="replace").read()
    samples = [b.splitlines() for b in text.split("\n\n") if b.strip()]
    total = 0
    self_time = collections.Counter()
    inclusive = collections.Counter()
    folded = collections.Counter()
    for block in samples:
        frames = frames_of(block)
        if not frames:
            continue
        total += 1
        self_time[frames[0]] += 1
        hit = set()
        for f in frames:
            for label, pat in SUBSYSTEMS:
                if pat.search(f):
                    hit.add(label)
        for label in hit:
            inclusive[label] += 1
        folded[";".join(reversed(frames))] += 1
    print(f"BENCH profile.samples {total}")
    for i, (sym, n) in enumerate(self_time.most_common(15)):
        print(f"BENCH profile.self.{i} {100 * n / total:.1f} {sym}")
    for i, (label, _) in enumerate(SUBSYSTEMS):
        print(f"BENCH profile.subsystem.{i} {100 * inclusive[label] / total:.1f} {label}")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            for stack, n in folded.items():
                f.write(f"{stack} {n}\n")


main()
