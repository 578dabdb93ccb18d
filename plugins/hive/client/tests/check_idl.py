#!/usr/bin/env python3
"""Checks plugins/hive/client/metastore.thrift against the metastore Lifeboat tests with.

Every struct, exception, union, enum and service method of our IDL subset is compared with the
classes compiled from Hive's own IDL in the rig's hive-standalone-metastore jars (4.0.1), which
the rig launcher's IdlDump prints. Field ids, types, names and exception lists must match;
requiredness must follow metastore.thrift's rule (upstream default-requiredness fields of
object type are `optional` here, everything else as upstream). A struct of ours missing a field
that Hive has fails the check: read-modify-write would lose it.

usage: check_idl.py --thrift THRIFT --idl metastore.thrift (--rig-jars DIR | --build-dir BUILD)
  DIR holds rig-hive.jar and lib/ (tools/scripts/rig.sh build puts them in
  ${LIFEBOAT_RIG_DIR:-BUILD/rig}/jars/rig-hive).
Exit 0 when everything matches, 1 with the differences listed, 77 (skip) when the rig jars are
missing and LIFEBOAT_RIG_REQUIRED is not 1.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PRIMITIVES = {"bool", "i8", "i16", "i32", "i64", "double"}


def json_type(t):
    """The IDL spelling of a type in thrift's JSON output (enums come out as i32)."""
    tid = t["typeId"]
    if tid in ("struct", "union", "exception"):
        return t["type"]["class"] if "type" in t else t["class"]
    if tid == "list" or tid == "set":
        inner = t["type"] if "type" in t else t
        elem = inner.get("elemType", {"typeId": inner["elemTypeId"]})
        return "%s<%s>" % (tid, json_type(elem))
    if tid == "map":
        inner = t["type"] if "type" in t else t
        key = inner.get("keyType", {"typeId": inner["keyTypeId"]})
        val = inner.get("valueType", {"typeId": inner["valueTypeId"]})
        return "map<%s,%s>" % (json_type(key), json_type(val))
    return tid


def java_type(t, enums):
    """Java's spelling normalised to the JSON one: byte is i8, an enum is i32 on the wire."""
    if t == "byte":
        return "i8"
    if t in enums:
        return "i32"
    for prefix in ("list<", "set<"):
        if t.startswith(prefix):
            return prefix + java_type(t[len(prefix):-1], enums) + ">"
    if t.startswith("map<"):
        inner = t[4:-1]
        depth = 0
        for i, ch in enumerate(inner):
            depth += ch == "<"
            depth -= ch == ">"
            if ch == "," and depth == 0:
                return "map<%s,%s>" % (java_type(inner[:i], enums), java_type(inner[i + 1:], enums))
    return t


def expected_requirement(java_req, wire_type):
    """metastore.thrift's rule: upstream default + object type -> optional here."""
    if java_req == "default":
        return "req_out" if wire_type in PRIMITIVES else "optional"
    return java_req


def run_dump(java, jars, names):
    classpath = os.path.join(jars, "rig-hive.jar") + ":" + os.path.join(jars, "lib", "*")
    out = subprocess.run([java, "-cp", classpath, "org.lifeboat.rig.hive.IdlDump"] + names,
                         check=True, capture_output=True, text=True).stdout
    dump = {}
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("SLF4J"):
            continue
        dump.setdefault(parts[0], []).append(parts[1:])
    return dump


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--thrift", required=True)
    ap.add_argument("--idl", required=True)
    ap.add_argument("--rig-jars", default="")
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--java", default="")
    args = ap.parse_args()

    if not args.rig_jars:
        rig_dir = os.environ.get("LIFEBOAT_RIG_DIR") or os.path.join(args.build_dir, "rig")
        args.rig_jars = os.path.join(rig_dir, "jars", "rig-hive")
    if not os.path.isfile(os.path.join(args.rig_jars, "rig-hive.jar")):
        msg = ("%s/rig-hive.jar is missing: build the rig launchers first "
               "(tools/scripts/rig.sh build)" % args.rig_jars)
        if os.environ.get("LIFEBOAT_RIG_REQUIRED") == "1":
            print("FAIL: " + msg)
            return 1
        print("SKIP: " + msg)
        return 77
    java = args.java or (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
                         if os.environ.get("JAVA_HOME") else
                         "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
                         if os.path.exists("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")
                         else "java")

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.thrift, "--gen", "json", "-out", tmp, args.idl], check=True,
                       capture_output=True)
        base = os.path.splitext(os.path.basename(args.idl))[0]
        with open(os.path.join(tmp, base + ".json")) as f:
            ours = json.load(f)

    enum_names = [e["name"] for e in ours["enums"]]
    struct_names = [s["name"] for s in ours["structs"]]
    service = ours["services"][0]
    # getVersion is fb303's; everything else is the metastore's own service.
    methods = [("FacebookService." if fn["name"] == "getVersion" else "ThriftHiveMetastore.")
               + fn["name"] for fn in service["functions"]]
    dump = run_dump(java, args.rig_jars, enum_names + struct_names + methods)
    java_enums = set(enum_names)
    errors = []

    for e in ours["enums"]:
        theirs = {(r[1], int(r[2])) for r in dump.get(e["name"], []) if r[0] == "VALUE"}
        mine = {(m["name"], m["value"]) for m in e["members"]}
        if not theirs:
            errors.append("enum %s: not in Hive's jars" % e["name"])
        elif mine != theirs:
            errors.append("enum %s: ours %s, Hive %s" % (e["name"], sorted(mine), sorted(theirs)))

    def compare_fields(label, mine, theirs, check_req):
        t = {int(r[0]): r for r in theirs if r[0] not in ("MISSING", "EMPTY")}
        m = {f["key"]: f for f in mine}
        for fid in sorted(set(t) - set(m)):
            errors.append("%s: field %d %s (%s) is missing here" % (label, fid, t[fid][1], t[fid][3]))
        for fid in sorted(set(m) - set(t)):
            errors.append("%s: field %d %s is not in Hive 4.0.1" % (label, fid, m[fid]["name"]))
        for fid in sorted(set(m) & set(t)):
            _, name, req, typ = t[fid]
            wire = java_type(typ, java_enums)
            got = json_type(m[fid])
            if got != wire:
                errors.append("%s.%s (%d): type %s here, %s in Hive" % (label, name, fid, got, wire))
            if m[fid]["name"] != name:
                errors.append("%s field %d: named %s here, %s in Hive" % (label, fid, m[fid]["name"], name))
            want = expected_requirement(req, wire)
            if check_req and m[fid]["required"] != want:
                errors.append("%s.%s (%d): %s here, should be %s (Hive: %s)"
                              % (label, name, fid, m[fid]["required"], want, req))

    for s in ours["structs"]:
        rows = dump.get(s["name"], [])
        if rows and rows[0][0] == "MISSING":
            errors.append("struct %s: not in Hive's jars" % s["name"])
            continue
        compare_fields(s["name"], s["fields"], rows, check_req=True)

    for fn in service["functions"]:
        name = fn["name"]
        args_rows = dump.get(name + ".args", [])
        if args_rows and args_rows[0][0] == "MISSING":
            errors.append("method %s: not in Hive 4.0.1" % name)
            continue
        compare_fields(name + "(args)", fn["arguments"], args_rows, check_req=False)
        result = [r for r in dump.get(name + ".result", []) if r[0] not in ("EMPTY",)]
        success = [r for r in result if r[0] == "0"]
        if fn["returnTypeId"] == "void":
            if success:
                errors.append("%s: returns void here, %s in Hive" % (name, success[0][3]))
        else:
            ret = json_type({"typeId": fn["returnTypeId"], **({"type": fn["returnType"]}
                                                                if "returnType" in fn else {})})
            if not success or java_type(success[0][3], java_enums) != ret:
                errors.append("%s: returns %s here, %s in Hive"
                              % (name, ret, success[0][3] if success else "void"))
        compare_fields(name + "(throws)", fn["exceptions"], [r for r in result if r[0] != "0"],
                       check_req=False)

    checked = len(ours["enums"]) + len(ours["structs"]) + len(service["functions"])
    if errors:
        print("metastore.thrift differs from Hive 4.0.1 (%d differences):" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    print("metastore.thrift matches Hive 4.0.1: %d enums, structs and methods checked" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
