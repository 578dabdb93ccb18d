#!/usr/bin/env python3
"""Checks a committed point of hdfs_live_writer_e2e against what live_writer.py logged.

    live_point_check.py point NN1 NN2 USER DIR SNAPSHOT CUT_END_NANOS CONTROL
        Every file of the point on the secondary (DIR/.snapshot/SNAPSHOT) holds only bytes the
        writer sent before the cut ended, unless the point's record on the secondary
        (/.lifeboat/state/DIR/SNAPSHOT.plan, "cut") names it as open at the cut: held "open",
        it holds only bytes sent before the cut's look at open files answered; "closed-after-
        cut", the point says it holds the file as closed. Every file held open is a prefix of
        the file on the primary now. Prints "open=N closed_after=M".
    live_point_check.py final NN1 NN2 USER DIR SNAPSHOT
        The point equals the primary's live directory: same files, lengths, times and bytes.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def call(nn, user, path, op):
    url = "http://%s/webhdfs/v1%s?op=%s&user.name=%s" % (nn, urllib.parse.quote(path), op, user)
    with urllib.request.urlopen(url) as r:
        return r.read()


def listing(nn, user, path):
    body = json.loads(call(nn, user, path, "LISTSTATUS"))
    return {s["pathSuffix"]: s for s in body["FileStatuses"]["FileStatus"] if s["type"] == "FILE"}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check_point(nn1, nn2, user, d, snapshot, cut_end_ns, ctl):
    cut_end_ms = int(cut_end_ns) // 1000000
    # The record's first line is its header (the listing follows, one item a line).
    body = call(nn2, user, "/.lifeboat/state%s/%s.plan" % (d, snapshot), "OPEN")
    record = json.loads(body.split(b"\n", 1)[0])
    cut = record.get("cut", {"open": [], "looked_unix_ms": 0})  # none: nothing held open
    held = {o[0]: (o[1], o[2], o[3]) for o in cut["open"]}
    sent = {}  # path -> [(end offset, unix ms)] in order
    for line in open(ctl + "/pieces"):
        rel, end, t = line.rstrip("\n").split("\t")
        sent.setdefault(rel, []).append((int(end), int(t)))
    point = d + "/.snapshot/" + snapshot
    counts = {"open": 0, "closed-after-cut": 0}
    for length, mtime, state in held.values():
        counts[state] += 1
    for rel, st in listing(nn2, user, point).items():
        length = st["length"]
        state = held.get(rel, (None, None, None))[2]
        if state is not None and held[rel][0] != length:
            fail("%s holds %d bytes of %s, its record says %d" % (snapshot, length, rel,
                                                                   held[rel][0]))
        if length == 0:
            continue
        # When was the last byte the point holds sent? (The first piece that reaches it.)
        when = None
        for end, t in sent.get(rel, []):
            if end >= length:
                when = t
                break
        if when is None:
            fail("%s holds %d bytes of %s, more than the writer sent" % (snapshot, length, rel))
        if state is None and when > cut_end_ms:
            fail("%s holds %d bytes of %s, written %d ms after the cut ended, and its record does "
                 "not say the file was open at the cut" % (snapshot, length, rel,
                                                           when - cut_end_ms))
        if state == "open" and when > cut["looked_unix_ms"]:
            fail("%s holds %d bytes of %s, written %d ms after the cut looked at open files"
                 % (snapshot, length, rel, when - cut["looked_unix_ms"]))
        if state is not None:
            have = call(nn2, user, point + "/" + rel, "OPEN")
            now = call(nn1, user, d + "/" + rel, "OPEN")
            if now[:length] != have:
                fail("%s: %s is not a prefix of the primary's file" % (snapshot, rel))
    print("open=%d closed_after=%d" % (counts["open"], counts["closed-after-cut"]))


def check_final(nn1, nn2, user, d, snapshot):
    src = listing(nn1, user, d)
    dst = listing(nn2, user, d + "/.snapshot/" + snapshot)
    if sorted(src) != sorted(dst):
        fail("files differ: only on the primary %s, only in the point %s"
             % (sorted(set(src) - set(dst))[:5], sorted(set(dst) - set(src))[:5]))
    for rel, s in src.items():
        t = dst[rel]
        if (s["length"], s["modificationTime"]) != (t["length"], t["modificationTime"]):
            fail("%s: primary %d bytes at %d, point %d bytes at %d" % (
                rel, s["length"], s["modificationTime"], t["length"], t["modificationTime"]))
        if call(nn1, user, d + "/" + rel, "OPEN") != call(nn2, user, d + "/.snapshot/" + snapshot
                                                          + "/" + rel, "OPEN"):
            fail("%s: the bytes differ" % rel)
    print("files=%d" % len(src))


if sys.argv[1] == "point":
    check_point(*sys.argv[2:9])
else:
    check_final(*sys.argv[2:7])
