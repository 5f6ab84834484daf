"""Reads a certificate (hex DER on stdin) and prints, as JSON, its embedded SCTs and
the TBS with the SCT list removed, as parsed by Python `cryptography`."""
import json
import sys
from datetime import datetime, timezone

from cryptography import x509

cert = x509.load_der_x509_certificate(bytes.fromhex(sys.stdin.read().strip()))
ext = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
scts = []
for sct in ext.value:
    ts = sct.timestamp
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    scts.append(
        {
            "version": sct.version.value,
            "log_id": sct.log_id.hex(),
            "timestamp_ms": (ts - epoch) // __import__("datetime").timedelta(milliseconds=1),
            "extensions": sct.extension_bytes.hex(),
            "signature": sct.signature.hex(),
            "entry_type": sct.entry_type.value,
        }
    )
print(json.dumps({"scts": scts, "tbs_precertificate": cert.tbs_precertificate_bytes.hex()}))
