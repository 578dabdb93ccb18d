#!/usr/bin/env python3
"""Writers as real ones behave, for hdfs_live_writer_e2e: they keep files open for a few
hundred milliseconds each, over WebHDFS, until CONTROL/stop exists: one creates new files
(a CREATE whose body is streamed in pieces), one appends to a log in pieces, at once.

    live_writer.py NAMENODE_HTTP USER DIR CONTROL

Every piece is logged, before it is sent, to CONTROL/pieces as "relative-path<TAB>end
offset<TAB>unix ms", so that a test can tell when each byte of a file was written.
Quiescing: while CONTROL/pause exists, each writer finishes the file it has open and waits;
CONTROL/paused appears once both wait. A failed request ends the writers with a message
(exit 1).
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

nn, user, base, ctl = sys.argv[1:5]
pieces_log = open(os.path.join(ctl, "pieces"), "a", buffering=1)
pieces_lock = threading.Lock()


def location(method, path, op, **params):
    query = urllib.parse.urlencode(dict(op=op, noredirect="true", **{"user.name": user}, **params))
    conn = http.client.HTTPConnection(nn, timeout=60)
    conn.request(method, urllib.parse.quote("/webhdfs/v1" + path) + "?" + query)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status >= 300:
        raise RuntimeError("%s %s: HTTP %d %s" % (op, path, resp.status, body[:300]))
    return json.loads(body)["Location"]


def stream(method, url, rel, offset, pieces, gap):
    """Sends `pieces` as one chunked body, `gap` seconds apart: the file stays open."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.netloc, timeout=60)
    conn.putrequest(method, u.path + "?" + u.query)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(gap)
        offset += len(piece)
        with pieces_lock:
            pieces_log.write("%s\t%d\t%d\n" % (rel, offset, int(time.time() * 1000)))
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    body = resp.read()
    if resp.status >= 300:
        raise RuntimeError("%s %s: HTTP %d %s" % (method, rel, resp.status, body[:300]))
    return offset


def paused(idle, lock):
    """Quiescing: each writer finishes its file, then waits while CONTROL/pause exists; the
    last one to stop creates CONTROL/paused."""
    if not os.path.exists(os.path.join(ctl, "pause")):
        return False
    with lock:
        idle[0] += 1
        if idle[0] == WRITERS:
            open(os.path.join(ctl, "paused"), "w").close()
    while os.path.exists(os.path.join(ctl, "pause")) and not os.path.exists(
            os.path.join(ctl, "stop")):
        time.sleep(0.02)
    with lock:
        idle[0] -= 1
        if os.path.exists(os.path.join(ctl, "paused")):
            os.unlink(os.path.join(ctl, "paused"))
    return True


def parts(idle, lock, done):
    """New files, each open for 150-400 ms."""
    n = 0
    while not os.path.exists(os.path.join(ctl, "stop")):
        if paused(idle, lock):
            continue
        n += 1
        rel = "part-%05d.txt" % n
        stream("PUT", location("PUT", base + "/" + rel, "CREATE", overwrite="true"), rel, 0,
               [b"record %d.%d\n" % (n, i) for i in range(4)], 0.05 + (n % 4) * 0.025)
    done.append(n)


def appends(idle, lock, done):
    """One log, appended to in pieces over 200 ms, again and again: open most of the time."""
    log = "events.log"
    length = stream("PUT", location("PUT", base + "/" + log, "CREATE", overwrite="true"), log, 0,
                    [b"start\n"], 0)
    n = 0
    while not os.path.exists(os.path.join(ctl, "stop")):
        if paused(idle, lock):
            continue
        n += 1
        length = stream("POST", location("POST", base + "/" + log, "APPEND"), log, length,
                        [b"event %d.%d\n" % (n, i) for i in range(3)], 0.1)
    done.append(n)


WRITERS = 2


def main():
    idle, lock, done, errors = [0], threading.Lock(), [], []

    def run(fn):
        try:
            fn(idle, lock, done)
        except Exception as e:  # the test reports it
            errors.append(e)
            open(os.path.join(ctl, "stop"), "w").close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (parts, appends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    with open(os.path.join(ctl, "written"), "w") as f:
        f.write(str(sum(done)))


try:
    main()
except Exception as e:  # the test reports it
    print("live_writer: %s" % e, file=sys.stderr)
    sys.exit(1)
