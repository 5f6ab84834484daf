"""Prints, as hex, what Python `cryptography` (OpenSSL/rust-asn1 based, independent of
certcentral) reconstructs as the RFC 6962 precertificate TBS of a final certificate,
then the SAN, the Fulcio issuer extension and the SCT log IDs it reads.

Usage: python3 cert_tbs_precertificate.py CERT.der
"""
import sys

from cryptography import x509

with open(sys.argv[1], "rb") as f:
    cert = x509.load_der_x509_certificate(f.read())

print("tbs_precertificate=" + cert.tbs_precertificate_bytes.hex())
san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
print("san_critical=" + str(san.critical))
print("emails=" + ",".join(san.value.get_values_for_type(x509.RFC822Name)))
print("uris=" + ",".join(san.value.get_values_for_type(x509.UniformResourceIdentifier)))
eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
print("code_signing=" + str(x509.oid.ExtendedKeyUsageOID.CODE_SIGNING in eku))
v2 = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"))
print("fulcio_issuer_v2=" + v2.value.value.hex())
scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
print("sct_log_ids=" + ",".join(s.log_id.hex() for s in scts.value))
