#!/usr/bin/env python3
"""Turns `perf script` output (the BFF under wrk load, DWARF call graphs) into `BENCH profile.*` lines for
report.py: the functions with the most self time, and the share of samples spent inside each subsystem
(each sample charged to the innermost subsystem on its stack; kernel time by system call). With a third argument, also writes folded stacks
(`frame;frame;... count`, leaf last) for a flame graph tool. Usage: profile.py PERF_SCRIPT.txt [FOLDED.txt]"""
import collections
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")

# Subsystems, by a pattern a frame's symbol matches. A sample is charged to the innermost frame (nearest the leaf)
# that matches one, so the allocator and memcpy time below a frame count for the code that asked for them; time in
# the kernel is charged by system call instead. First pattern that matches a frame wins.
SUBSYSTEMS = [
    ("DPoP proof (bff::oidc::dpop: claims, key parse, ES256 signature)", re.compile(r"bff::oidc::dpop")),
    ("tracing (request span, fmt subscriber)", re.compile(r"tracing_subscriber|tracing_core|^tracing::")),
    ("request id (uuid v4)", re.compile(r"uuid::|MakeRequestUuid|MakeRequestId|getrandom|rand::")),
    ("CSRF check", re.compile(r"bff::csrf")),
    ("session lookup (cookie parse, store get/touch)", re.compile(r"bff::session::")),
    ("metrics", re.compile(r"bff::metrics")),
    ("the proxy's upstream client (bff::proxy::upstream: request head, answer parse, pool)", re.compile(r"bff::proxy::upstream")),
    ("proxy handler's own code (bff::proxy)", re.compile(r"bff::proxy::")),
    ("reqwest (request build, headers, body wrap)", re.compile(r"reqwest::")),
    ("hyper client (pool checkout, dispatch channel)", re.compile(r"hyper_util::client|hyper::client|want::|tokio::sync::mpsc|tokio::sync::oneshot")),
    ("hyper HTTP/1 connections (parse, encode, socket I/O), server and client", re.compile(r"^hyper::|hyper_util::server|hyper_util::rt")),
    ("axum router + tower layers", re.compile(r"^axum::|^<axum::|^tower::|tower_http::|matchit::")),
    ("tokio I/O driver (epoll, readiness)", re.compile(r"^tokio::io|^tokio::net|^mio::|tokio::runtime::io|tokio::runtime::driver")),
    ("tokio scheduler (tasks, wake-ups, park)", re.compile(r"^tokio::")),
]
OTHER = "other (std, libc, startup frames)"

# Inclusive shares (a sample counts when any frame matches) of the costs a change could remove, for the text
# after the tables.
INCLUSIVE = {
    "dpop": r"bff::oidc::dpop",
    "url": r"url::|idna::",
    "reqwest": r"reqwest::",
    "client_dispatch": r"tokio::sync::mpsc|want::|tokio::sync::oneshot",
    "upstream": r"bff::proxy::upstream",
    "session": r"bff::session::",
    "sha2": r"sha2::",
    "tracing": r"tracing_subscriber|tracing_core",
    "metrics": r"bff::metrics",
    "timer": r"tokio::time|tokio::runtime::time",
}


ALLOC = re.compile(r"^(malloc|free|realloc|calloc|cfree|_int_malloc|_int_free|_int_realloc|malloc_consolidate|unlink_chunk|tcache|__libc_|_?mi_)")


def task_of(stack):
    """Which of the BFF's tasks a sample (folded stack, root first) was taken in."""
    if "bff::proxy::forward" in stack:
        return "the proxy handler (session, token, building and sending the upstream request, the response head)"
    # hyper-util's pooled client (before the own upstream client) ran each connection as a task of its own.
    if re.search(r"hyper::client::conn|hyper_util::client::legacy", stack):
        return "the upstream connection task (hyper client: write the request, read the response)"
    # The server connection's future is often inlined into the task's poll, leaving only hyper's HTTP/1
    # dispatcher on the stack: with the own upstream client, every HTTP/1 connection of hyper's is the browser's.
    if re.search(r"axum::serve|hyper::server|hyper_util::server|bff::serve::serve|hyper::proto::h1|Connection<", stack):
        return "the browser-side connection, outside the handler (HTTP/1 read, parse, write; router, layers, span)"
    return "the runtime itself (park, epoll, timers) and the rest"


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
    charged = collections.Counter()
    kernel = collections.Counter()
    folded = collections.Counter()
    for block in samples:
        frames = frames_of(block)
        if not frames:
            continue
        total += 1
        self_time[frames[0]] += 1
        if frames[0].startswith("[k]"):
            # Kernel time by system call (the user-space caller is tokio's I/O or park code either way).
            # The system call is named by its libc wrapper, the first user-space frame (on loopback, a send also
            # runs the receiving side's TCP stack in the sender's context).
            user = next((f for f in frames if not f.startswith("[k]")), "")
            if any("do_syscall_64" in f for f in frames):
                label = "kernel: " + (re.sub(r"^(__GI_)?_*(libc_)?", "", user.split("@")[0]) or "?")
            else:
                label = "kernel: page faults, interrupts"
            kernel[label] += 1
        else:
            label = next((lab for f in frames for lab, pat in SUBSYSTEMS if pat.search(f)), OTHER)
        charged[label] += 1
        folded[";".join(reversed(frames))] += 1
    in_kernel = sum(kernel.values())
    tasks = collections.Counter()
    for stack, n in folded.items():
        tasks[task_of(stack)] += n
    alloc = sum(n for sym, n in self_time.items() if ALLOC.search(sym))
    print(f"BENCH profile.samples {total}")
    for i, (sym, n) in enumerate(self_time.most_common(15)):
        print(f"BENCH profile.self.{i} {100 * n / total:.1f} {sym}")
    for i, (label, n) in enumerate(charged.most_common()):
        print(f"BENCH profile.subsystem.{i} {100 * n / total:.1f} {label}")
    print(f"BENCH profile.kernel_pct {100 * in_kernel / total:.1f}")
    for key, pat in INCLUSIVE.items():
        n = sum(c for stack, c in folded.items() if re.search(pat, stack))
        print(f"BENCH profile.incl.{key} {100 * n / total:.1f}")
    for i, (label, n) in enumerate(tasks.most_common()):
        print(f"BENCH profile.task.{i} {100 * n / total:.1f} {label}")
    print(f"BENCH profile.alloc_pct {100 * alloc / total:.1f}")
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            for stack, n in folded.items():
                f.write(f"{stack} {n}\n")


main()
