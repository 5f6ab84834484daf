#!/usr/bin/env python3
"""Self-test for ct_verify.py.

Usage:  python3 ct_verify_selftest.py

Builds a complete, valid input from scratch with `cryptography` (a P-256 log
key, a root CA, a Precertificate Signing Certificate, x509 leaves and
precertificates, SCTs, a 5-leaf Merkle tree with every inclusion and
consistency proof, STHs and checkpoints), checks that ct_verify.py accepts it,
then tampers with each category in turn and checks that it is rejected with a
message naming the right item.

The expected structures are produced independently of ct_verify.py: the
precertificate TBS is taken from a separately issued "final" certificate
(RFC 6962 §3.2 notes the TBS can be rebuilt from the final certificate), and
the Merkle proofs use the recursive definitions of RFC 9162 §2.1.3.1 and
§2.1.4.1 rather than the iterative verifiers.
"""

import base64
import copy
import datetime
import hashlib
import json
import os
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VERIFIER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ct_verify.py")
ORIGIN = "127.0.0.1:8080/logs/dev-a"
BASE_TS = 1_700_000_000_000
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2034, 1, 1, tzinfo=datetime.timezone.utc)
CT_PRECERT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.4")


def b64(data):
    return base64.b64encode(data).decode()


def unb64(s):
    return base64.b64decode(s)


def flip(s, pos=-1):
    """Flips the low bit of one byte of a base64 value."""
    raw = bytearray(unb64(s))
    raw[pos] ^= 0x01
    return b64(bytes(raw))


def u(n, width):
    return n.to_bytes(width, "big")


def vec(data, width):
    return u(len(data), width) + data


def spki_der(key):
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


# --------------------------------------------------------------------------
# Certificates

def build(subject, issuer_name, issuer_key, public_key, serial, extensions):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(public_key).serial_number(serial)
         .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER))
    for ext, critical in extensions:
        b = b.add_extension(ext, critical=critical)
    return b.sign(issuer_key, hashes.SHA256())


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def make_pki():
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = build(name("Test Root"), name("Test Root"), root_key, root_key.public_key(), 1, [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False),
    ])
    psc_key = ec.generate_private_key(ec.SECP256R1())
    psc = build(name("Test Precert Signer"), root.subject, root_key, psc_key.public_key(), 2, [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (x509.ExtendedKeyUsage([CT_PRECERT_SIGNING_EKU]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False),
        (x509.SubjectKeyIdentifier.from_public_key(psc_key.public_key()), False),
    ])
    return root_key, root, psc_key, psc


def leaf_exts(issuer_pub, host, poison, bare=False):
    exts = [] if bare else [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), False),
        (x509.SubjectAlternativeName([x509.DNSName(host)]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ]
    if poison:
        exts.append((x509.PrecertPoison(), True))
    return exts


def make_x509(root_key, root, serial, host):
    key = ec.generate_private_key(ec.SECP256R1())
    return build(name(host), root.subject, root_key, key.public_key(), serial,
                 leaf_exts(root_key.public_key(), host, poison=False))


def make_precert(root_key, root, signer_key, signer, serial, host, bare=False):
    """Returns (precert signed by `signer`, final-cert TBS as the CA would issue it).

    The final certificate is issued by the root with the same fields minus
    the poison: RFC 6962 §3.2's PreCert.tbs_certificate must equal its TBS.
    With `bare`, the poison is the precert's only extension, so the final
    certificate has no extensions field at all.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    pre = build(name(host), signer.subject, signer_key, key.public_key(), serial,
                leaf_exts(signer_key.public_key(), host, poison=True, bare=bare))
    final = build(name(host), root.subject, root_key, key.public_key(), serial,
                  leaf_exts(root_key.public_key(), host, poison=False, bare=bare))
    return pre, final.tbs_certificate_bytes


# --------------------------------------------------------------------------
# RFC 6962 structures, signed by the test "log"

def digitally_signed(log_key, data):
    sig = log_key.sign(data, ec.ECDSA(hashes.SHA256()))
    return bytes([4, 3]) + vec(sig, 2)  # sha256, ecdsa (RFC 5246 §7.4.1.4.1)


def make_sct(log_key, log_id, entry_type, signed_entry, timestamp, index):
    ext = bytes([0]) + vec(u(index, 5), 2)  # static-ct-api leaf_index extension
    tbs = (bytes([0, 0]) + u(timestamp, 8) + u(entry_type, 2) + signed_entry +
           vec(ext, 2))
    sct = {"sct_version": 0, "id": b64(log_id), "timestamp": timestamp,
           "extensions": b64(ext), "signature": b64(digitally_signed(log_key, tbs))}
    leaf = bytes([0, 0]) + u(timestamp, 8) + u(entry_type, 2) + signed_entry + vec(ext, 2)
    return sct, leaf


def make_sth(log_key, size, root, timestamp):
    data = bytes([0, 1]) + u(timestamp, 8) + u(size, 8) + root
    return {"tree_size": size, "timestamp": timestamp, "sha256_root_hash": b64(root),
            "tree_head_signature": b64(digitally_signed(log_key, data))}


def make_checkpoint(log_key, log_id, size, root, timestamp, key_material=None,
                    origin=ORIGIN, extra_body=""):
    body = f"{origin}\n{size}\n{b64(root)}\n{extra_body}"
    key_id = hashlib.sha256(origin.encode() + b"\n\x05" +
                            (key_material or log_id)).digest()[:4]
    data = bytes([0, 1]) + u(timestamp, 8) + u(size, 8) + root
    sig = key_id + u(timestamp, 8) + digitally_signed(log_key, data)
    witness = "\u2014 witness.example " + b64(b"\x01\x02\x03\x04" + bytes(72)) + "\n"
    return body + "\n" + f"\u2014 {origin} {b64(sig)}\n" + witness


# --------------------------------------------------------------------------
# Merkle tree, recursively per RFC 9162 §2.1

def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = split(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def split(n):
    """Largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path(m, leaves):
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m, leaves):
    return subproof(m, leaves, True) if 0 < m < len(leaves) else []


# --------------------------------------------------------------------------
# The valid input

class World:
    def __init__(self):
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        self.spki = spki_der(self.log_key)
        self.log_id = hashlib.sha256(self.spki).digest()
        root_key, root, psc_key, psc = make_pki()
        self.root_key, self.root = root_key, root
        root_der = der(root)
        root_hash = hashlib.sha256(root.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()

        leaf1 = make_x509(root_key, root, 10, "a.example")
        pre1, tbs1 = make_precert(root_key, root, root_key, root, 11, "b.example")
        pre2, tbs2 = make_precert(root_key, root, psc_key, psc, 12, "c.example")
        leaf2 = make_x509(root_key, root, 13, "d.example")
        pre3, tbs3 = make_precert(root_key, root, root_key, root, 14, "e.example", bare=True)
        # Sanity: the PSC-issued precert's TBS really differs from the final
        # one (issuer and AKI), so the verifier must rewrite it.
        assert pre2.tbs_certificate_bytes != tbs2

        # (kind, submitted chain, signed_entry, issuers stored by the log)
        subs = [
            ("x509", [der(leaf1), root_der], vec(der(leaf1), 3), [root_der]),
            ("precert", [der(pre1), root_der], root_hash + vec(tbs1, 3), [root_der]),
            ("precert", [der(pre2), der(psc), root_der], root_hash + vec(tbs2, 3),
             [der(psc), root_der]),
            # Submitted without its root: the log appends it to the stored chain.
            ("x509", [der(leaf2)], vec(der(leaf2), 3), [root_der]),
            # Poison-only precert: the PreCert TBS has no extensions field.
            ("precert", [der(pre3), root_der], root_hash + vec(tbs3, 3), [root_der]),
        ]
        self.submissions, self.entries, self.leaves = [], [], []
        for i, (kind, chain, signed_entry, stored) in enumerate(subs):
            entry_type = 0 if kind == "x509" else 1
            sct, leaf = make_sct(self.log_key, self.log_id, entry_type, signed_entry,
                                 BASE_TS + i, i)
            self.leaves.append(leaf)
            self.submissions.append({"kind": kind, "chain": [b64(c) for c in chain],
                                     "sct": sct})
            stored_chain = vec(b"".join(vec(c, 3) for c in stored), 3)
            extra = (vec(chain[0], 3) + stored_chain) if kind == "precert" else stored_chain
            self.entries.append({"leaf_input": b64(leaf), "extra_data": b64(extra),
                                 "index": i, "kind": kind,
                                 "chain": [b64(c) for c in chain]})
        # A resubmission of the first chain gets the original SCT back.
        self.submissions.append(copy.deepcopy(self.submissions[0]))

    def doc(self):
        n = len(self.leaves)
        roots = [mth(self.leaves[:s]) for s in range(n + 1)]
        sth_ts = BASE_TS + 1000
        return {
            "log_key": b64(self.spki),
            "origin": ORIGIN,
            "submissions": copy.deepcopy(self.submissions),
            "sths": [make_sth(self.log_key, s, roots[s], sth_ts + s) for s in range(n + 1)],
            "inclusion": [
                {"leaf_input": b64(self.leaves[i]), "leaf_index": i, "tree_size": s,
                 "audit_path": [b64(h) for h in path(i, self.leaves[:s])],
                 "root": b64(roots[s])}
                for s in range(1, n + 1) for i in range(s)],
            "consistency": [
                {"first": m, "second": s, "first_root": b64(roots[m]),
                 "second_root": b64(roots[s]),
                 "proof": [b64(h) for h in proof(m, self.leaves[:s])]}
                for s in range(n + 1) for m in range(s + 1)],
            "checkpoints": [make_checkpoint(self.log_key, self.log_id, s, roots[s],
                                            sth_ts + s) for s in (0, 3, n)],
            "entries": copy.deepcopy(self.entries),
        }


# --------------------------------------------------------------------------
# Running the verifier

def run(doc):
    p = subprocess.run([sys.executable, VERIFIER], input=json.dumps(doc),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def tampers(w):
    """(description, mutation, substring expected in stderr)."""
    n = len(w.leaves)

    def resign_dup(d):
        # Same chain resubmitted, but a fresh (valid!) signature: not deduplicated.
        dup = copy.deepcopy(d["submissions"][0])
        sub = w.submissions[0]
        leaf = unb64(sub["chain"][0])
        ext = unb64(sub["sct"]["extensions"])
        data = (bytes([0, 0]) + u(sub["sct"]["timestamp"], 8) + u(0, 2) + vec(leaf, 3) +
                vec(ext, 2))
        dup["sct"]["signature"] = b64(digitally_signed(w.log_key, data))
        d["submissions"].append(dup)

    def set_path(keys, fn):
        def mutate(d):
            obj = d
            for k in keys[:-1]:
                obj = obj[k]
            obj[keys[-1]] = fn(obj[keys[-1]])
        return mutate

    def checkpoint(fn):
        return set_path(["checkpoints", 2], fn)

    def other_cp(**kw):
        def mutate(d):
            root = unb64(d["sths"][n]["sha256_root_hash"])
            d["checkpoints"][2] = make_checkpoint(w.log_key, w.log_id, n, root,
                                                  BASE_TS + 5000, **kw)
        return mutate

    def forked_sth(d):
        d["sths"].append(make_sth(w.log_key, n, hashlib.sha256(b"fork").digest(),
                                  BASE_TS + 9999))

    def wrong_key(d):
        d["log_key"] = b64(spki_der(ec.generate_private_key(ec.SECP256R1())))

    def drop_psc(d):
        chain = d["submissions"][2]["chain"]
        del chain[1]

    def extra_root_twice(d):
        e = d["entries"][0]
        extra = unb64(e["extra_data"])
        certs = extra[3:]
        e["extra_data"] = b64(vec(certs + certs, 3))

    def entry_wrong_chain(d):
        d["entries"][3]["chain"] = d["entries"][0]["chain"][:1]

    def bad_consistency_equal(d):
        c = next(c for c in d["consistency"] if c["first"] == c["second"] == 3)
        c["proof"] = [c["first_root"]]

    def index_of(item, d, **match):
        return next(i for i, c in enumerate(d[item])
                    if all(c[k] == v for k, v in match.items()))

    def edit(item, field, fn, **match):
        """Applies fn to `field` of the first d[item] entry matching `match`."""
        def mutate(d):
            i = index_of(item, d, **match)
            d[item][i][field] = fn(d[item][i][field])
        return mutate

    def consistency_flip(**match):
        return edit("consistency", "proof", lambda p: [flip(p[0])] + p[1:], **match)

    def inclusion(field, fn, **match):
        return edit("inclusion", field, fn, **match)

    return [
        # 1. log ID / version
        ("SCT log id", set_path(["submissions", 0, "sct", "id"], flip), "submissions[0]"),
        ("SCT version", set_path(["submissions", 1, "sct", "sct_version"], lambda v: 1),
         "sct_version 1"),
        # 2. SCT signatures, entries and extensions
        ("SCT timestamp", set_path(["submissions", 0, "sct", "timestamp"], lambda t: t + 1),
         "SCT signature does not verify"),
        ("SCT signature (x509)", set_path(["submissions", 0, "sct", "signature"], flip),
         "submissions[0]"),
        ("SCT signature (precert)", set_path(["submissions", 1, "sct", "signature"], flip),
         "submissions[1]"),
        ("SCT signature (PSC precert)", set_path(["submissions", 2, "sct", "signature"], flip),
         "submissions[2]"),
        ("SCT hash alg", set_path(["submissions", 3, "sct", "signature"],
                                  lambda s: b64(b"\x02" + unb64(s)[1:])), "hash algorithm 2"),
        ("PSC dropped from chain", drop_psc, "submissions[2]"),
        ("SCT precert leaf swapped for x509 leaf",
         set_path(["submissions", 1, "chain", 0], lambda c: w.submissions[0]["chain"][0]),
         "no CT poison extension"),
        ("SCT extension index", set_path(["submissions", 4, "sct", "extensions"],
                                         lambda e: flip(e)), "submissions[4]"),
        ("SCT extensions empty", set_path(["submissions", 4, "sct", "extensions"],
                                          lambda e: ""), "exactly one leaf_index"),
        ("SCT not deduplicated", resign_dup, "different SCT"),
        # 3. STHs
        ("STH root", set_path(["sths", 4, "sha256_root_hash"], flip), "sths[4]"),
        ("STH size", set_path(["sths", 4, "tree_size"], lambda s: s + 1), "sths[4]"),
        ("STH timestamp", set_path(["sths", 2, "timestamp"], lambda t: t - 1), "sths[2]"),
        ("STH signature", set_path(["sths", 5, "tree_head_signature"], flip), "sths[5]"),
        ("STH forked root", forked_sth, "conflicting roots"),
        # 4. inclusion proofs
        ("inclusion path", inclusion("audit_path", lambda p: [flip(p[0])] + p[1:],
                                     leaf_index=2, tree_size=5), "audit path for leaf 2"),
        ("inclusion root", inclusion("root", flip, leaf_index=4, tree_size=5), "inclusion["),
        ("inclusion index", inclusion("leaf_index", lambda i: i + 1, leaf_index=1,
                                      tree_size=4), "inclusion["),
        ("inclusion leaf_input", inclusion("leaf_input", lambda x: flip(x, 5),
                                           leaf_index=0, tree_size=5), "inclusion["),
        ("inclusion long path", inclusion("audit_path", lambda p: p + [p[0]],
                                          leaf_index=0, tree_size=5), "too long"),
        ("inclusion short path", inclusion("audit_path", lambda p: p[:-1],
                                           leaf_index=3, tree_size=5), "too short"),
        # 5. consistency proofs
        ("consistency proof", consistency_flip(first=3, second=5), "consistency["),
        ("consistency proof (power of 2)", consistency_flip(first=2, second=5), "consistency["),
        ("consistency first_root", edit("consistency", "first_root", flip, first=4, second=5),
         "consistency["),
        ("consistency from empty tree, non-empty proof",
         edit("consistency", "proof", lambda p: [b64(bytes(32))], first=0, second=5),
         "must be empty"),
        ("consistency equal sizes, non-empty proof", bad_consistency_equal, "must be empty"),
        # 6. checkpoints
        ("checkpoint root line", checkpoint(lambda t: t.replace(
            t.split("\n")[2], b64(hashlib.sha256(b"x").digest()), 1)), "checkpoints[2]"),
        ("checkpoint size line", checkpoint(lambda t: t.replace("\n5\n", "\n4\n", 1)),
         "checkpoints[2]"),
        ("checkpoint origin", other_cp(origin="example.com/other"), "origin line"),
        ("checkpoint key id over SPKI", other_cp(key_material=w.spki), "LogID"),
        ("checkpoint extension line", other_cp(extra_body="ext\n"), "extension lines"),
        ("checkpoint signature", checkpoint(lambda t: t.replace(
            t.split("\n")[4].split(" ")[-1], flip(t.split("\n")[4].split(" ")[-1]))),
         "checkpoints[2]"),
        ("checkpoint em dash", checkpoint(lambda t: t.replace("\u2014 " + ORIGIN, "- " + ORIGIN)),
         "malformed signature line"),
        # 7. entries
        ("entry extra_data", set_path(["entries", 1, "extra_data"], lambda x: flip(x, 10)),
         "entries[1]"),
        ("entry extra chain doubled", extra_root_twice, "entries[0]"),
        ("entry leaf cert", entry_wrong_chain, "leaf certificate differs"),
        ("entry precert from another chain",
         set_path(["entries", 4, "chain"], lambda c: w.entries[1]["chain"]), "entries[4]"),
        ("entry kind", set_path(["entries", 0, "kind"], lambda k: "precert"), "entries[0]"),
        ("entry precert TBS", set_path(["entries", 2, "leaf_input"], lambda x: flip(x, 60)),
         "entries[2]"),
        ("entry index", set_path(["entries", 3, "index"], lambda i: 2), "entries[3]"),
        ("entry leaf timestamp", set_path(["entries", 3, "leaf_input"], lambda x: flip(x, 9)),
         "differs in: timestamp"),
        # everything signed
        ("wrong log key", wrong_key, "!= SHA-256(log_key)"),
    ]


def check_merkle_exhaustively(max_size=33):
    """In-process: the verifier's iterative RFC 9162 algorithms accept every
    recursively built proof up to `max_size` leaves, and reject each proof
    with any one element corrupted, dropped or added."""
    sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
    sys.path.insert(0, os.path.dirname(VERIFIER))
    import ct_verify as v

    def rejects(fn, *args):
        try:
            fn(*args)
        except v.Bad:
            return True
        return False

    leaves = [b"leaf %d" % i for i in range(max_size)]
    roots = [mth(leaves[:n]) for n in range(max_size + 1)]
    for n in range(1, max_size + 1):
        for i in range(n):
            p = path(i, leaves[:n])
            lh = hashlib.sha256(b"\x00" + leaves[i]).digest()
            assert v.inclusion_root(i, n, lh, p) == roots[n], (i, n)
            for j in range(len(p)):
                bad = p[:j] + [hashlib.sha256(p[j]).digest()] + p[j + 1:]
                assert v.inclusion_root(i, n, lh, bad) != roots[n], (i, n, j)
            assert rejects(v.inclusion_root, i, n, lh, p + [p[0] if p else lh])
            if p:
                assert rejects(v.inclusion_root, i, n, lh, p[:-1])
        for m in range(0, n + 1):
            c = proof(m, leaves[:n])
            v.verify_consistency(m, n, roots[m], roots[n], c)
            for j in range(len(c)):
                bad = c[:j] + [hashlib.sha256(c[j]).digest()] + c[j + 1:]
                assert rejects(v.verify_consistency, m, n, roots[m], roots[n], bad), (m, n, j)
            if c:
                assert rejects(v.verify_consistency, m, n, roots[m], roots[n], c[:-1])
            assert rejects(v.verify_consistency, m, n, roots[m], roots[n], c + [roots[n]])
            if 0 < m < n:
                assert rejects(v.verify_consistency, m, n, roots[m - 1], roots[n], c)
    print(f"ok   Merkle proofs for every (index, size) and (first, second) up to {max_size}")


def main():
    check_merkle_exhaustively()
    w = World()
    good = w.doc()
    rc, out, err = run(good)
    assert rc == 0, f"valid input rejected (rc={rc}):\n{err}"
    summary = json.loads(out)
    assert summary["ok"] and summary["failures"] == 0, summary
    expected_counts = {"submissions": 6, "sths": 6, "inclusion": 15, "consistency": 21,
                       "checkpoints": 3, "entries": 5}
    for k, v in expected_counts.items():
        assert summary[k] == v, (k, summary[k], v)
    assert summary["sct_leaf_indices"] == [0, 1, 2, 3, 4, 0], summary["sct_leaf_indices"]
    assert [h["size"] for h in summary["checkpoint_heads"]] == [0, 3, 5]
    print(f"ok   valid input accepted: {out.strip()}")

    # Degenerate inputs.
    rc, out, err = run({})
    assert rc == 0 and json.loads(out)["ok"], (rc, out, err)
    p = subprocess.run([sys.executable, VERIFIER], input="not json", capture_output=True,
                       text=True)
    assert p.returncode == 1 and "FAIL" in p.stderr
    print("ok   empty input accepted, malformed JSON rejected")

    failed = []
    for desc, mutate, want in tampers(w):
        doc = copy.deepcopy(good)
        mutate(doc)
        assert doc != good, f"tamper {desc!r} changed nothing"
        rc, out, err = run(doc)
        if rc != 1 or "FAIL" not in err or want not in err:
            failed.append(desc)
            print(f"FAIL tamper {desc!r}: rc={rc}, wanted {want!r} in stderr:\n{err}")
        else:
            first = next(line for line in err.splitlines() if line.startswith("FAIL"))
            print(f"ok   {desc}: {first}")
    if failed:
        print(f"{len(failed)} tamper case(s) not detected: {failed}")
        return 1
    print("all self-tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
