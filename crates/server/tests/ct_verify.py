#!/usr/bin/env python3
"""Independent verifier for the CT log server's wire formats.

Usage:  python3 ct_verify.py < input.json

This is deliberately a second, from-scratch implementation: it shares no code
with the Rust server.  It rebuilds every signed structure itself from the specs
and verifies signatures with the `cryptography` package (the only dependency
beyond the standard library).

References:
  RFC 6962   Certificate Transparency (SCTs §3.2, MerkleTreeLeaf §3.4,
             STHs §3.5, get-entries extra_data §4.6)
  RFC 9162   proof verification algorithms (§2.1.3.2 inclusion,
             §2.1.4.2 consistency); same Merkle tree as RFC 6962 §2.1
  RFC 5246   §4.7 / §7.4.1.4.1 TLS `digitally-signed` encoding
  c2sp.org/static-ct-api, c2sp.org/signed-note, c2sp.org/tlog-checkpoint

Input (JSON on stdin; binary values are standard padded base64; every key is
optional):
  {
    "log_key": SPKI DER of the log's ECDSA P-256 key,
    "origin": checkpoint origin line / note key name,
    "submissions": [{"kind": "x509"|"precert", "chain": [leaf, issuer, ...],
                     "sct": <add-chain / add-pre-chain JSON response>}],
    "sths": [<get-sth JSON response>],
    "inclusion": [{"leaf_input", "leaf_index", "tree_size", "audit_path", "root"}],
    "consistency": [{"first", "second", "first_root", "second_root", "proof"}],
    "checkpoints": [<signed note text>],
    "entries": [{"leaf_input", "extra_data", "index", "kind", "chain"}]
  }

Every problem is printed to stderr as `FAIL <item>: <message>`; checking
continues with the next item.  A one-line JSON summary is printed to stdout.
Exit status: 0 if everything verified, 1 otherwise.
"""

import base64
import collections
import hashlib
import json
import re
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

# --------------------------------------------------------------------------
# Protocol constants

# RFC 6962 §3.2: `enum { v1(0), (255) } Version;`
# `enum { certificate_timestamp(0), tree_hash(1), (255) } SignatureType;`
# `enum { x509_entry(0), precert_entry(1), (65535) } LogEntryType;`
# RFC 6962 §3.4: `enum { timestamped_entry(0), (255) } MerkleLeafType;`
VERSION_V1 = 0
SIG_TYPE_CERTIFICATE_TIMESTAMP = 0
SIG_TYPE_TREE_HASH = 1
ENTRY_TYPES = {"x509": 0, "precert": 1}
ENTRY_KINDS = {v: k for k, v in ENTRY_TYPES.items()}
LEAF_TYPE_TIMESTAMPED_ENTRY = 0

# RFC 5246 §7.4.1.4.1: HashAlgorithm sha256(4), SignatureAlgorithm ecdsa(3).
HASH_SHA256 = 4
SIG_ECDSA = 3

# static-ct-api: `enum { leaf_index(0), (255) } ExtensionType;`
EXT_LEAF_INDEX = 0
# static-ct-api: signed-note signature type identifier of RFC6962NoteSignature.
NOTE_ALG_RFC6962 = 0x05

# RFC 6962 §2.1: the hash of an empty tree is the hash of the empty string.
EMPTY_TREE_ROOT = hashlib.sha256(b"").digest()

U64_MAX = (1 << 64) - 1


def encode_oid(dotted):
    """DER content octets of an OBJECT IDENTIFIER (X.690 §8.19)."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


OID_CT_POISON = encode_oid("1.3.6.1.4.1.11129.2.4.3")  # RFC 6962 §3.1
OID_CT_PRECERT_SIGNING = encode_oid("1.3.6.1.4.1.11129.2.4.4")  # RFC 6962 §3.1
OID_EXT_KEY_USAGE = encode_oid("2.5.29.37")
OID_AUTHORITY_KEY_ID = encode_oid("2.5.29.35")


class Bad(Exception):
    """A check failed in a way that stops checking the current item."""


# --------------------------------------------------------------------------
# Minimal DER reader / writer (only what certificate surgery needs)

Tlv = collections.namedtuple("Tlv", "tag raw content")


def der_read(buf, off):
    """Reads the TLV starting at buf[off]; returns (Tlv, end offset)."""
    if off + 2 > len(buf):
        raise Bad("DER: truncated header")
    tag = buf[off]
    if tag & 0x1F == 0x1F:
        raise Bad("DER: multi-byte tags are not supported")
    first = buf[off + 1]
    pos = off + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise Bad("DER: indefinite length")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > len(buf):
            raise Bad("DER: bad length-of-length")
        length = int.from_bytes(buf[pos:pos + n], "big")
        if buf[pos] == 0 or length < 0x80:
            raise Bad("DER: non-minimal length")
        pos += n
    end = pos + length
    if end > len(buf):
        raise Bad("DER: value runs past the end")
    return Tlv(tag, bytes(buf[off:end]), bytes(buf[pos:end])), end


def der_children(buf):
    """Splits a run of concatenated TLVs (e.g. a SEQUENCE's content)."""
    out, off = [], 0
    while off < len(buf):
        tlv, off = der_read(buf, off)
        out.append(tlv)
    return out


def der_single(buf, tag):
    tlv, end = der_read(buf, 0)
    if end != len(buf):
        raise Bad("DER: trailing bytes")
    if tlv.tag != tag:
        raise Bad(f"DER: expected tag 0x{tag:02x}, got 0x{tlv.tag:02x}")
    return tlv


def der_encode(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(ln)]) + ln
    return head + content


Extension = collections.namedtuple("Extension", "oid critical value parts")


class CertParts:
    """The pieces of an X.509 certificate (RFC 5280 §4.1) we need, as raw DER.

    TBSCertificate ::= SEQUENCE {
        version [0] EXPLICIT DEFAULT v1, serialNumber, signature, issuer,
        validity, subject, subjectPublicKeyInfo,
        issuerUniqueID [1] IMPLICIT OPTIONAL, subjectUniqueID [2] IMPLICIT OPTIONAL,
        extensions [3] EXPLICIT Extensions OPTIONAL }
    """

    def __init__(self, der, what):
        try:
            x509.load_der_x509_certificate(der)  # must at least be a sane cert
        except Exception as e:
            raise Bad(f"{what} is not a parseable X.509 certificate: {e}")
        cert = der_single(der, 0x30)
        top = der_children(cert.content)
        if len(top) != 3 or top[0].tag != 0x30:
            raise Bad(f"{what}: Certificate is not SEQUENCE {{tbs, alg, sig}}")
        self.tbs = top[0].raw
        self.fields = der_children(top[0].content)
        base = 1 if self.fields and self.fields[0].tag == 0xA0 else 0
        if len(self.fields) < base + 6:
            raise Bad(f"{what}: TBSCertificate has too few fields")
        self.issuer_pos = base + 2
        self.issuer = self.fields[base + 2].raw
        self.subject = self.fields[base + 4].raw
        self.spki = self.fields[base + 5].raw
        self.ext_pos = None
        self.extensions = []
        for pos in range(base + 6, len(self.fields)):
            if self.fields[pos].tag == 0xA3:
                self.ext_pos = pos
                seq = der_single(self.fields[pos].content, 0x30)
                for ext in der_children(seq.content):
                    self.extensions.append(self._parse_ext(ext, what))

    @staticmethod
    def _parse_ext(ext, what):
        # Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
        parts = der_children(ext.content) if ext.tag == 0x30 else []
        if len(parts) not in (2, 3) or parts[0].tag != 0x06 or parts[-1].tag != 0x04:
            raise Bad(f"{what}: malformed Extension")
        critical = len(parts) == 3 and parts[1].tag == 0x01 and parts[1].content != b"\x00"
        return Extension(parts[0].content, critical, parts[-1].content, parts)

    def find_ext(self, oid):
        found = [e for e in self.extensions if e.oid == oid]
        if len(found) > 1:
            raise Bad("duplicate extension " + oid.hex())
        return found[0] if found else None

    def is_precert_signing_cert(self):
        """RFC 6962 §3.1: a Precertificate Signing Certificate carries the
        Certificate Transparency EKU 1.3.6.1.4.1.11129.2.4.4."""
        eku = self.find_ext(OID_EXT_KEY_USAGE)
        if eku is None:
            return False
        seq = der_single(eku.value, 0x30)
        return any(p.tag == 0x06 and p.content == OID_CT_PRECERT_SIGNING
                   for p in der_children(seq.content))


def precert_tbs(pre, psc):
    """RFC 6962 §3.2 `PreCert.tbs_certificate`, built by DER surgery.

    The precertificate's TBSCertificate minus the poison extension.  If it was
    issued by a Precertificate Signing Certificate `psc`, the issuer is also
    changed to the final issuer (= the PSC's issuer), and the
    AuthorityKeyIdentifier, if present, is changed to match the final issuer
    (= the PSC's own AKI value); RFC 6962 §3.2 requires the PSC to have an
    AKI whenever the precertificate does.  If the poison was the only
    extension, the now-empty [3] field is omitted, since RFC 5280 requires
    Extensions to have SIZE (1..MAX).

    (`cryptography`'s `tbs_precertificate_bytes` is no substitute: it strips
    the embedded-SCT-list extension from a *final* certificate, and raises on
    a precertificate.)
    """
    poisons = [e for e in pre.extensions if e.oid == OID_CT_POISON]
    if len(poisons) != 1:
        raise Bad(f"precertificate has {len(poisons)} CT poison extensions, want 1")
    kept = []
    for ext in pre.extensions:
        if ext.oid == OID_CT_POISON:
            continue
        if psc is not None and ext.oid == OID_AUTHORITY_KEY_ID:
            psc_aki = psc.find_ext(OID_AUTHORITY_KEY_ID)
            if psc_aki is None:
                raise Bad("precertificate has an AuthorityKeyIdentifier but its "
                          "Precertificate Signing Certificate has none (RFC 6962 §3.2)")
            parts = [p.raw for p in ext.parts[:-1]] + [der_encode(0x04, psc_aki.value)]
            kept.append(der_encode(0x30, b"".join(parts)))
            continue
        kept.append(der_encode(0x30, b"".join(p.raw for p in ext.parts)))
    fields = [f.raw for f in pre.fields]
    if psc is not None:
        fields[pre.issuer_pos] = psc.issuer
    if kept:
        fields[pre.ext_pos] = der_encode(0xA3, der_encode(0x30, b"".join(kept)))
    else:
        del fields[pre.ext_pos]
    return der_encode(0x30, b"".join(fields))


# --------------------------------------------------------------------------
# TLS presentation-language helpers (RFC 5246 §4)

def u(n, width):
    return n.to_bytes(width, "big")


def vec(data, width):
    """A variable-length vector with a `width`-byte length prefix."""
    if len(data) >= 1 << (8 * width):
        raise Bad(f"vector of {len(data)} bytes does not fit a {width}-byte length")
    return u(len(data), width) + data


class Reader:
    def __init__(self, data, what):
        self.data, self.off, self.what = data, 0, what

    def take(self, n):
        if self.off + n > len(self.data):
            raise Bad(f"{self.what}: truncated at byte {self.off} (wanted {n} more)")
        out = self.data[self.off:self.off + n]
        self.off += n
        return out

    def uint(self, width):
        return int.from_bytes(self.take(width), "big")

    def vec(self, width):
        return self.take(self.uint(width))

    def done(self):
        return self.off == len(self.data)

    def finish(self):
        if not self.done():
            raise Bad(f"{self.what}: {len(self.data) - self.off} trailing bytes")


def parse_digitally_signed(blob, what):
    """RFC 5246 §4.7 `digitally-signed`: SignatureAndHashAlgorithm (2 bytes)
    followed by `opaque signature<0..2^16-1>`.  We require sha256 + ecdsa."""
    r = Reader(blob, what)
    hash_alg, sig_alg = r.uint(1), r.uint(1)
    sig = r.vec(2)
    r.finish()
    if hash_alg != HASH_SHA256:
        raise Bad(f"{what}: hash algorithm {hash_alg}, want {HASH_SHA256} (sha256)")
    if sig_alg != SIG_ECDSA:
        raise Bad(f"{what}: signature algorithm {sig_alg}, want {SIG_ECDSA} (ecdsa)")
    return sig


def ecdsa_ok(key, sig, data):
    try:
        key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def parse_extensions(ext, what):
    """static-ct-api CtExtensions: `Extension CtExtensions<0..2^16-1>` with
    `struct { uint8 extension_type; opaque extension_data<0..2^16-1>; }`.
    Our log must emit exactly one extension, leaf_index, whose data is a
    big-endian uint40 -- 8 bytes in total.  Returns the leaf index."""
    r = Reader(ext, what + " extensions")
    found = []
    while not r.done():
        found.append((r.uint(1), r.vec(2)))
    types = [t for t, _ in found]
    if types != [EXT_LEAF_INDEX]:
        raise Bad(f"{what}: extensions must be exactly one leaf_index extension, "
                  f"found types {types} ({ext.hex() or 'empty'})")
    data = found[0][1]
    if len(data) != 5:
        raise Bad(f"{what}: leaf_index extension data is {len(data)} bytes, want 5")
    return int.from_bytes(data, "big")


# RFC 6962 §3.4:
#   struct { uint64 timestamp; LogEntryType entry_type;
#            select(entry_type) { case x509_entry: ASN.1Cert;
#                                 case precert_entry: PreCert; } signed_entry;
#            CtExtensions extensions; } TimestampedEntry;
#   struct { Version version; MerkleLeafType leaf_type;
#            select(leaf_type) { case timestamped_entry: TimestampedEntry; } } MerkleTreeLeaf;
# RFC 6962 §3.2: the SCT's digitally-signed struct is
#   sct_version || signature_type || timestamp || entry_type || signed_entry || extensions
# i.e. byte-for-byte `0x00 0x00 || TimestampedEntry`, the same bytes as the
# MerkleTreeLeaf.  We still build both separately from their definitions.

def timestamped_entry(timestamp, entry_type, signed_entry, extensions):
    return u(timestamp, 8) + u(entry_type, 2) + signed_entry + vec(extensions, 2)


def sct_signed_data(timestamp, entry_type, signed_entry, extensions):
    return (bytes([VERSION_V1, SIG_TYPE_CERTIFICATE_TIMESTAMP]) + u(timestamp, 8) +
            u(entry_type, 2) + signed_entry + vec(extensions, 2))


def merkle_tree_leaf(timestamp, entry_type, signed_entry, extensions):
    return (bytes([VERSION_V1, LEAF_TYPE_TIMESTAMPED_ENTRY]) +
            timestamped_entry(timestamp, entry_type, signed_entry, extensions))


def sth_signed_data(timestamp, tree_size, root):
    # RFC 6962 §3.5 TreeHeadSignature:
    #   version || signature_type(tree_hash) || uint64 timestamp || uint64 tree_size || root[32]
    return (bytes([VERSION_V1, SIG_TYPE_TREE_HASH]) + u(timestamp, 8) +
            u(tree_size, 8) + root)


Leaf = collections.namedtuple(
    "Leaf", "timestamp entry_type signed_entry cert issuer_key_hash extensions")


def parse_merkle_tree_leaf(data, what):
    r = Reader(data, what)
    version, leaf_type = r.uint(1), r.uint(1)
    if version != VERSION_V1:
        raise Bad(f"{what}: MerkleTreeLeaf version {version}, want 0")
    if leaf_type != LEAF_TYPE_TIMESTAMPED_ENTRY:
        raise Bad(f"{what}: leaf_type {leaf_type}, want 0 (timestamped_entry)")
    timestamp = r.uint(8)
    entry_type = r.uint(2)
    start = r.off
    if entry_type == ENTRY_TYPES["x509"]:
        issuer_key_hash = None
        cert = r.vec(3)
    elif entry_type == ENTRY_TYPES["precert"]:
        issuer_key_hash = r.take(32)
        cert = r.vec(3)  # the TBSCertificate
    else:
        raise Bad(f"{what}: unknown entry_type {entry_type}")
    signed_entry = data[start:r.off]
    extensions = r.vec(2)
    r.finish()
    return Leaf(timestamp, entry_type, signed_entry, cert, issuer_key_hash, extensions)


def parse_cert_chain(r):
    """`ASN.1Cert certificate_chain<0..2^24-1>` with `opaque ASN.1Cert<1..2^24-1>`."""
    inner = Reader(r.vec(3), r.what + " certificate_chain")
    certs = []
    while not inner.done():
        certs.append(inner.vec(3))
    return certs


# --------------------------------------------------------------------------
# Merkle tree proofs (RFC 9162 §2.1; hashes as in RFC 6962 §2.1)

def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(leaf_input):
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def inclusion_root(index, size, lhash, path):
    """RFC 9162 §2.1.3.2; returns the computed root or raises Bad."""
    if index >= size:
        raise Bad(f"leaf_index {index} >= tree_size {size}")
    fn, sn, r = index, size - 1, lhash
    for p in path:
        if sn == 0:
            raise Bad("audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # If fn is a left child here (fn == sn, the last node of its
            # level), it has no sibling: climb until it is a right child.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Bad("audit path is too short")
    return r


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2; raises Bad on failure."""
    if first > second:
        raise Bad(f"first {first} > second {second}")
    if first == second:
        if proof:
            raise Bad("proof between equal sizes must be empty")
        if first_root != second_root:
            raise Bad("equal sizes but different roots")
        return
    if first == 0:
        # Every tree is consistent with the empty tree; the proof is empty.
        if proof:
            raise Bad("proof from the empty tree must be empty")
        if first_root != EMPTY_TREE_ROOT:
            raise Bad("first_root of the empty tree must be SHA-256('')")
        return
    if not proof:
        raise Bad("empty proof for 0 < first < second")
    path = list(proof)
    # Step 2: if first is an exact power of 2, the old root is itself a node
    # of the new tree and is omitted from the proof; prepend it.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Bad("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Bad("consistency proof is too short")
    if fr != first_root:
        raise Bad("proof does not reproduce first_root")
    if sr != second_root:
        raise Bad("proof does not reproduce second_root")


# --------------------------------------------------------------------------
# JSON field helpers

def b64(value, what, length=None):
    if not isinstance(value, str):
        raise Bad(f"{what}: expected a base64 string, got {type(value).__name__}")
    try:
        raw = base64.b64decode(value, validate=True)
    except Exception as e:
        raise Bad(f"{what}: invalid base64 ({e})")
    if length is not None and len(raw) != length:
        raise Bad(f"{what}: {len(raw)} bytes, want {length}")
    return raw


def field(obj, key, what):
    if not isinstance(obj, dict) or key not in obj:
        raise Bad(f"missing field {key!r} in {what}")
    return obj[key]


def get_b64(obj, key, what, length=None):
    return b64(field(obj, key, what), f"{what}.{key}", length)


def get_int(obj, key, what, maximum=U64_MAX):
    v = field(obj, key, what)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= maximum:
        raise Bad(f"{what}.{key}: {v!r} is not an integer in [0, {maximum}]")
    return v


def get_chain(obj, what):
    chain = field(obj, "chain", what)
    if not isinstance(chain, list) or not chain:
        raise Bad(f"{what}.chain must be a non-empty list")
    return [b64(c, f"{what}.chain[{i}]") for i, c in enumerate(chain)]


def get_kind(obj, what):
    kind = field(obj, "kind", what)
    if kind not in ENTRY_TYPES:
        raise Bad(f"{what}.kind: {kind!r}, want 'x509' or 'precert'")
    return kind


def short(b):
    return base64.b64encode(b).decode()


# --------------------------------------------------------------------------
# The verifier

class Verifier:
    CATEGORIES = ("submissions", "sths", "inclusion", "consistency",
                  "checkpoints", "entries")

    def __init__(self, doc):
        self.doc = doc if isinstance(doc, dict) else {}
        self.failures = 0
        self.counts = {c: 0 for c in self.CATEGORIES}
        self.key = None
        self.spki = None
        self.log_id = None
        # leaf index -> (expected MerkleTreeLeaf bytes, item that produced it)
        self.sct_leaves = {}
        # tree size -> [(root, item)] from items that verified
        self.roots = collections.defaultdict(list)
        # leaf index -> [(leaf_input, item)] from items that verified
        self.leaves = collections.defaultdict(list)
        self.sct_indices = []
        self.heads = []

    def fail(self, item, msg):
        self.failures += 1
        print(f"FAIL {item}: {msg}", file=sys.stderr)

    def run_item(self, item, fn, *args):
        """Runs one item's check; `fn` gets an `errs` list for non-fatal
        problems and may raise Bad for fatal ones.  Returns True if clean."""
        errs = []
        try:
            fn(errs, *args)
        except Bad as e:
            errs.append(str(e))
        except Exception as e:  # a verifier bug or wildly malformed input
            errs.append(f"unexpected {type(e).__name__}: {e}")
        for msg in errs:
            self.fail(item, msg)
        return not errs

    def items(self, key):
        value = self.doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return []
        return value

    def need_key(self):
        if self.key is None:
            raise Bad("no usable log_key to verify against")
        return self.key

    # -- log key -----------------------------------------------------------

    def load_key(self, errs):
        self.spki = b64(self.doc["log_key"], "log_key")
        key = serialization.load_der_public_key(self.spki)
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise Bad("log_key is not an ECDSA P-256 public key")
        self.key = key
        # RFC 6962 §3.2: LogID is SHA-256 of the log's public key as DER SPKI.
        self.log_id = hashlib.sha256(self.spki).digest()

    # -- 1, 2: SCTs ----------------------------------------------------------

    def signed_entry(self, kind, chain, errs):
        """RFC 6962 §3.2 `signed_entry` for a submitted chain (leaf first)."""
        leaf = CertParts(chain[0], "chain[0]")
        poison = leaf.find_ext(OID_CT_POISON)
        if kind == "x509":
            if poison is not None:
                errs.append("x509 submission's leaf carries the CT poison extension")
            return vec(chain[0], 3)
        # RFC 6962 §3.1: critical poison extension whose extnValue is ASN.1 NULL.
        if poison is None:
            raise Bad("precert submission's leaf has no CT poison extension")
        if not poison.critical or poison.value != b"\x05\x00":
            errs.append("CT poison extension must be critical with value NULL (05 00)")
        if len(chain) < 2:
            raise Bad("precert chain has no issuer, cannot compute issuer_key_hash")
        issuer = CertParts(chain[1], "chain[1]")
        psc = None
        if issuer.is_precert_signing_cert():
            # The final certificate's issuer is the PSC's issuer, chain[2].
            if len(chain) < 3:
                raise Bad("chain[1] is a Precertificate Signing Certificate "
                          "but chain[2] (the final issuer) is missing")
            psc, issuer = issuer, CertParts(chain[2], "chain[2]")
        tbs = precert_tbs(leaf, psc)
        # RFC 6962 §3.2: issuer_key_hash is SHA-256 over the final issuer's
        # SubjectPublicKeyInfo DER.
        return hashlib.sha256(issuer.spki).digest() + vec(tbs, 3)

    def check_submission(self, errs, i, sub, seen):
        what = f"submissions[{i}]"
        kind = get_kind(sub, what)
        chain = get_chain(sub, what)
        sct = field(sub, "sct", what)
        w = what + ".sct"
        version = get_int(sct, "sct_version", w, 255)
        if version != VERSION_V1:
            errs.append(f"sct_version {version}, want 0 (v1)")
        key = self.need_key()
        log_id = get_b64(sct, "id", w, 32)
        if log_id != self.log_id:
            errs.append(f"id {short(log_id)} != SHA-256(log_key) {short(self.log_id)}")
        timestamp = get_int(sct, "timestamp", w)
        extensions = get_b64(sct, "extensions", w)
        signature = get_b64(sct, "signature", w)

        # Dedup: resubmitting the same chain must return the same SCT.
        fingerprint = (version, log_id, timestamp, extensions, signature)
        dkey = (kind, tuple(chain))
        if dkey in seen:
            first_i, first_fp = seen[dkey]
            if first_fp != fingerprint:
                errs.append(f"same chain as submissions[{first_i}] but a different SCT "
                            "(duplicates must return the original SCT byte-for-byte)")
        else:
            seen[dkey] = (i, fingerprint)

        index = None
        try:
            index = parse_extensions(extensions, w)
            self.sct_indices.append(index)
        except Bad as e:
            errs.append(str(e))
        sig = parse_digitally_signed(signature, w + ".signature")
        signed_entry = self.signed_entry(kind, chain, errs)
        entry_type = ENTRY_TYPES[kind]
        data = sct_signed_data(timestamp, entry_type, signed_entry, extensions)
        if not ecdsa_ok(key, sig, data):
            raise Bad(f"SCT signature does not verify over the RFC 6962 §3.2 "
                      f"{kind} structure (timestamp {timestamp}, leaf_index {index})")
        if index is not None:
            leaf = merkle_tree_leaf(timestamp, entry_type, signed_entry, extensions)
            prev = self.sct_leaves.get(index)
            if prev is not None and prev[0] != leaf:
                errs.append(f"leaf_index {index} was also promised to a different "
                            f"entry by {prev[1]}")
            elif prev is None:
                self.sct_leaves[index] = (leaf, what)

    def check_leaf_against_sct(self, errs, leaf_input, leaf, index):
        """The TimestampedEntry in the log must be exactly what the SCT with
        this leaf_index signed, and carry the same leaf_index extension."""
        try:
            ext_index = parse_extensions(leaf.extensions, "leaf")
            if ext_index != index:
                errs.append(f"TimestampedEntry's leaf_index extension says {ext_index}, "
                            f"but the leaf is at index {index}")
        except Bad as e:
            errs.append(str(e))
        expected = self.sct_leaves.get(index)
        if expected is not None and expected[0] != leaf_input:
            exp = parse_merkle_tree_leaf(expected[0], "expected")
            diffs = [name for name in ("timestamp", "entry_type", "signed_entry", "extensions")
                     if getattr(exp, name) != getattr(leaf, name)]
            errs.append(f"leaf at index {index} is not what the SCT of {expected[1]} "
                        f"signed (differs in: {', '.join(diffs) or 'encoding'})")

    # -- 3: STHs -------------------------------------------------------------

    def check_tree_head(self, errs, what, timestamp, size, root, signature):
        key = self.need_key()
        if size == 0 and root != EMPTY_TREE_ROOT:
            errs.append("tree of size 0 must have root SHA-256('')")
        sig = parse_digitally_signed(signature, what + " signature")
        if not ecdsa_ok(key, sig, sth_signed_data(timestamp, size, root)):
            raise Bad(f"tree head signature does not verify over the RFC 6962 §3.5 "
                      f"TreeHeadSignature (timestamp {timestamp}, size {size}, "
                      f"root {short(root)})")

    def check_sth(self, errs, i, sth):
        what = f"sths[{i}]"
        size = get_int(sth, "tree_size", what)
        timestamp = get_int(sth, "timestamp", what)
        root = get_b64(sth, "sha256_root_hash", what, 32)
        signature = get_b64(sth, "tree_head_signature", what)
        self.check_tree_head(errs, what, timestamp, size, root, signature)
        if not errs:
            self.roots[size].append((root, what))

    # -- 4: inclusion proofs ---------------------------------------------------

    def check_inclusion(self, errs, i, item):
        what = f"inclusion[{i}]"
        leaf_input = get_b64(item, "leaf_input", what)
        index = get_int(item, "leaf_index", what)
        size = get_int(item, "tree_size", what)
        root = get_b64(item, "root", what, 32)
        path = field(item, "audit_path", what)
        if not isinstance(path, list):
            raise Bad("audit_path must be a list")
        path = [b64(p, f"{what}.audit_path[{j}]", 32) for j, p in enumerate(path)]
        leaf = None
        try:
            leaf = parse_merkle_tree_leaf(leaf_input, "leaf_input")
        except Bad as e:
            errs.append(str(e))
        computed = inclusion_root(index, size, leaf_hash(leaf_input), path)
        if computed != root:
            raise Bad(f"audit path for leaf {index} in tree {size} yields root "
                      f"{short(computed)}, not {short(root)}")
        if leaf is not None:
            self.check_leaf_against_sct(errs, leaf_input, leaf, index)
        if not errs:
            self.roots[size].append((root, what))
            self.leaves[index].append((leaf_input, what))

    # -- 5: consistency proofs -------------------------------------------------

    def check_consistency(self, errs, i, item):
        what = f"consistency[{i}]"
        first = get_int(item, "first", what)
        second = get_int(item, "second", what)
        first_root = get_b64(item, "first_root", what, 32)
        second_root = get_b64(item, "second_root", what, 32)
        proof = field(item, "proof", what)
        if not isinstance(proof, list):
            raise Bad("proof must be a list")
        proof = [b64(p, f"{what}.proof[{j}]", 32) for j, p in enumerate(proof)]
        verify_consistency(first, second, first_root, second_root, proof)
        self.roots[first].append((first_root, what + " first_root"))
        self.roots[second].append((second_root, what + " second_root"))

    # -- 6: checkpoints ----------------------------------------------------------

    def check_checkpoint(self, errs, i, text):
        what = f"checkpoints[{i}]"
        if not isinstance(text, str):
            raise Bad("checkpoint must be a string")
        origin = self.doc.get("origin")
        if not isinstance(origin, str) or not origin:
            raise Bad("input has no 'origin' to check the checkpoint against")
        # c2sp.org/signed-note: the text is UTF-8 lines ending in "\n" with no
        # other control characters; a blank line separates the signatures.
        if any(ord(c) < 0x20 and c != "\n" or ord(c) == 0x7F for c in text):
            errs.append("note contains control characters other than newline")
        if "\n\n" not in text:
            raise Bad("no blank line separating note text from signatures")
        body, sigs = text.split("\n\n", 1)
        body += "\n"
        if not sigs.endswith("\n"):
            raise Bad("signature block must end with a newline")
        # c2sp.org/tlog-checkpoint: origin, decimal size, base64 root hash,
        # then optional extension lines -- which static-ct-api forbids for
        # checkpoints carrying an RFC6962NoteSignature.
        lines = body.split("\n")[:-1]
        if len(lines) < 3:
            raise Bad(f"checkpoint body has {len(lines)} lines, want 3")
        if len(lines) > 3:
            errs.append(f"static-ct-api checkpoints must not have extension lines, "
                        f"got {lines[3:]!r}")
        if lines[0] != origin:
            errs.append(f"origin line {lines[0]!r} != expected {origin!r}")
        if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]) or int(lines[1]) > U64_MAX:
            raise Bad(f"tree size line {lines[1]!r} is not a canonical decimal uint64")
        size = int(lines[1])
        root = b64(lines[2], "root hash line", 32)
        if base64.b64encode(root).decode() != lines[2]:
            errs.append("root hash line is not canonical base64")
        if size == 0 and root != EMPTY_TREE_ROOT:
            errs.append("tree of size 0 must have root SHA-256('')")

        # static-ct-api: key name = origin; key ID = SHA-256(name || 0x0A ||
        # 0x05 || LogID)[:4], where LogID is the 32-byte SHA-256 of the SPKI.
        key = self.need_key()
        want_id = hashlib.sha256(origin.encode() + b"\n" + bytes([NOTE_ALG_RFC6962]) +
                                 self.log_id).digest()[:4]
        ours, names = [], []
        for line in sigs[:-1].split("\n"):
            # signed-note: "— " (U+2014 U+0020) name " " base64(keyID || sig)
            m = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
            if not m:
                raise Bad(f"malformed signature line {line!r}")
            blob = b64(m.group(2), "signature line")
            if len(blob) < 5:
                raise Bad(f"signature line {line!r} is too short")
            names.append(m.group(1))
            if m.group(1) == origin and blob[:4] == want_id:
                ours.append(blob[4:])
            elif m.group(1) == origin:
                # Unknown (name, id) pairs must be ignored; diagnose the
                # common mistake of hashing the SPKI instead of the LogID.
                spki_id = hashlib.sha256(origin.encode() + b"\n\x05" + self.spki).digest()[:4]
                hint = (" (it equals SHA-256(name||0x0A||0x05||SPKI DER)[:4]: the key ID "
                        "must hash the 32-byte LogID, not the SPKI)"
                        if blob[:4] == spki_id else "")
                errs.append(f"signature line for {origin!r} has key ID {blob[:4].hex()}, "
                            f"want {want_id.hex()}{hint}")
        if not ours:
            raise Bad(f"no signature with key name {origin!r} and key ID "
                      f"{want_id.hex()} (signers: {names})")
        for sig in ours:
            # static-ct-api RFC6962NoteSignature: uint64 timestamp || TreeHeadSignature.
            r = Reader(sig, "RFC6962NoteSignature")
            timestamp = r.uint(8)
            ds = sig[r.off:]
            self.check_tree_head(errs, what, timestamp, size, root, ds)
            self.heads.append({"checkpoint": i, "size": size, "root": short(root),
                               "timestamp": timestamp})
        if not errs:
            self.roots[size].append((root, what))

    # -- 7: entries --------------------------------------------------------------

    def check_entry(self, errs, i, entry):
        what = f"entries[{i}]"
        kind = get_kind(entry, what)
        chain = get_chain(entry, what)
        index = get_int(entry, "index", what)
        leaf_input = get_b64(entry, "leaf_input", what)
        extra = get_b64(entry, "extra_data", what)
        leaf = parse_merkle_tree_leaf(leaf_input, "leaf_input")
        if leaf.entry_type != ENTRY_TYPES[kind]:
            errs.append(f"leaf entry_type is {ENTRY_KINDS.get(leaf.entry_type, leaf.entry_type)}"
                        f", want {kind}")
        # RFC 6962 §4.6 extra_data: for x509, the X509ChainEntry's
        # certificate_chain; for precerts, the whole PrecertChainEntry.
        r = Reader(extra, "extra_data")
        if kind == "precert":
            pre = r.vec(3)
            if pre != chain[0]:
                errs.append("extra_data.pre_certificate differs from the submitted precertificate")
        certs = parse_cert_chain(r)
        r.finish()
        if leaf.entry_type == ENTRY_TYPES[kind]:
            if kind == "x509":
                if leaf.cert != chain[0]:
                    errs.append("leaf certificate differs from the submitted chain[0]")
            else:
                want = self.signed_entry(kind, chain, errs)
                if leaf.signed_entry != want:
                    part = "issuer_key_hash" if leaf.signed_entry[:32] != want[:32] \
                        else "TBSCertificate"
                    errs.append(f"leaf PreCert differs from the one rebuilt from the "
                                f"chain ({part})")
        # The stored chain is the submitted issuers, optionally with the root
        # appended by the log when the submitter left it out.
        issuers = chain[1:]
        if certs[:len(issuers)] != issuers or len(certs) > len(issuers) + 1:
            errs.append(f"extra_data chain ({len(certs)} certs) is not the submitted "
                        f"issuers ({len(issuers)} certs), optionally plus one root")
        elif len(certs) == len(issuers) + 1:
            # Only a missing issuer may be appended: never a duplicate, and
            # nothing after a self-issued (root) certificate.
            last = CertParts(chain[-1], "last submitted cert")
            extra_cert = CertParts(certs[-1], "appended cert")
            if certs[-1] in chain:
                errs.append("extra_data chain repeats a submitted certificate")
            elif last.subject == last.issuer:
                errs.append("extra_data chain continues past the self-issued root "
                            "that ends the submitted chain")
            elif extra_cert.subject != last.issuer:
                errs.append("appended cert's subject is not the issuer of the last "
                            "submitted cert")
        self.check_leaf_against_sct(errs, leaf_input, leaf, index)
        if not errs:
            self.leaves[index].append((leaf_input, what))

    # -- cross-checks ------------------------------------------------------------

    def cross_check(self):
        """A log must never show two roots for one size, or two leaves at one index."""
        for size, seen in sorted(self.roots.items()):
            by_root = collections.defaultdict(list)
            for root, item in seen:
                by_root[root].append(item)
            if len(by_root) > 1:
                listing = "; ".join(
                    f"{short(r)} from {', '.join(items[:3])}"
                    + (f" (+{len(items) - 3} more)" if len(items) > 3 else "")
                    for r, items in by_root.items())
                self.fail(f"tree size {size}", f"conflicting roots: {listing}")
        for index, seen in sorted(self.leaves.items()):
            if len({leaf for leaf, _ in seen}) > 1:
                self.fail(f"leaf index {index}",
                          "conflicting leaf_input from " + ", ".join(w for _, w in seen))

    def run(self):
        if "log_key" in self.doc and self.doc["log_key"] not in (None, ""):
            self.run_item("log_key", self.load_key)
        elif any(self.doc.get(k) for k in ("submissions", "sths", "checkpoints")):
            self.fail("log_key", "missing, but needed to verify signatures")

        seen = {}
        for i, sub in enumerate(self.items("submissions")):
            self.counts["submissions"] += 1
            self.run_item(f"submissions[{i}] ({sub.get('kind') if isinstance(sub, dict) else '?'})",
                          self.check_submission, i, sub, seen)
        for i, sth in enumerate(self.items("sths")):
            self.counts["sths"] += 1
            self.run_item(f"sths[{i}]", self.check_sth, i, sth)
        for i, item in enumerate(self.items("inclusion")):
            self.counts["inclusion"] += 1
            self.run_item(f"inclusion[{i}]", self.check_inclusion, i, item)
        for i, item in enumerate(self.items("consistency")):
            self.counts["consistency"] += 1
            self.run_item(f"consistency[{i}]", self.check_consistency, i, item)
        for i, text in enumerate(self.items("checkpoints")):
            self.counts["checkpoints"] += 1
            self.run_item(f"checkpoints[{i}]", self.check_checkpoint, i, text)
        for i, entry in enumerate(self.items("entries")):
            self.counts["entries"] += 1
            self.run_item(f"entries[{i}]", self.check_entry, i, entry)
        self.cross_check()

    def summary(self):
        out = {"ok": self.failures == 0, "failures": self.failures}
        out.update(self.counts)
        out["sct_leaf_indices"] = self.sct_indices
        out["checkpoint_heads"] = self.heads
        return out


def main():
    try:
        doc = json.load(sys.stdin)
    except Exception as e:
        print(f"FAIL input: not valid JSON: {e}", file=sys.stderr)
        return 1
    if not isinstance(doc, dict):
        print("FAIL input: top level must be a JSON object", file=sys.stderr)
        return 1
    v = Verifier(doc)
    v.run()
    print(json.dumps(v.summary(), separators=(",", ":")))
    if v.failures:
        print(f"{v.failures} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
