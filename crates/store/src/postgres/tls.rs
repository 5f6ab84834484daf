//! TLS to PostgreSQL over rustls: the certificate checks of libpq's `sslmode`s, and the
//! adapter that lets the `postgres` client run its handshake through `tokio-rustls`.
//!
//! Why our own adapter and not `tokio-postgres-rustls`: what it does is the ~80 lines
//! below, and owning them keeps the rustls and tokio-postgres versions those of the
//! rest of the workspace. The crypto provider is aws-lc-rs, which the workspace already
//! builds (reqwest's TLS runs on it); there is no OpenSSL anywhere.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::postgres::Socket;
use ::postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::Decode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What is checked of the server's certificate once the session is encrypted.
pub(crate) enum ServerCheck {
    /// Nothing (`prefer` and `require` without `sslrootcert`): the session is
    /// encrypted, but a machine in the middle can present any certificate.
    Nothing,
    /// The chain ends at one of these roots, whatever names it is for (`verify-ca`;
    /// also `prefer` and `require` given `sslrootcert`, as libpq does).
    Chain(RootCertStore),
    /// The chain ends at one of these roots and the certificate is for the host
    /// connected to (`verify-full`).
    ChainAndName(RootCertStore),
}

/// ALPN protocol of PostgreSQL (since 17; older servers ignore it). A server reached
/// with `sslnegotiation=direct` refuses a handshake without it.
const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// The rustls client configuration for `check`. The handshake's own signatures are
/// always verified, whatever is checked of the certificate: they prove the server
/// holds the key of the certificate it sent, without which a checked chain would
/// prove nothing (anyone can replay a certificate).
pub(crate) fn client_config(check: ServerCheck) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = match check {
        ServerCheck::ChainAndName(roots) => builder.with_root_certificates(roots),
        ServerCheck::Chain(roots) => {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(WithoutNameCheck {
                    roots: Some(roots),
                    provider,
                }))
        }
        ServerCheck::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(WithoutNameCheck {
                roots: None,
                provider,
            })),
    }
    .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(config)
}

/// The verifier of `verify-ca` (a chain to `roots`, no host name check) and, without
/// roots, of `require` (no certificate check at all). Only the certificate check is
/// relaxed: handshake signatures go through the provider's verification as usual.
#[derive(Debug)]
struct WithoutNameCheck {
    roots: Option<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for WithoutNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            verify_server_cert_signed_by_trust_anchor(
                &ParsedCertificate::try_from(end_entity)?,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Makes the TLS side of each connection the `postgres` client opens.
#[derive(Clone)]
pub(crate) struct RustlsConnector(pub(crate) Arc<ClientConfig>);

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = RustlsStream;
    type TlsConnect = RustlsHandshake;
    type Error = std::convert::Infallible;

    /// `host` is the `host` setting of the connection (empty for a Unix socket). It is
    /// parsed only when a handshake starts: with `sslmode=prefer`, a server that
    /// declines TLS (as every server does on a Unix socket) is reached without one.
    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsHandshake, Self::Error> {
        Ok(RustlsHandshake {
            config: self.0.clone(),
            host: host.to_owned(),
        })
    }
}

/// One TLS handshake, to `host`.
pub(crate) struct RustlsHandshake {
    config: Arc<ClientConfig>,
    host: String,
}

impl TlsConnect<Socket> for RustlsHandshake {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let name = ServerName::try_from(self.host.as_str())
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "`{}` is not a host name or IP address TLS can check",
                            self.host
                        ),
                    )
                })?
                .to_owned();
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, socket)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

/// A connection to the server inside TLS.
pub(crate) struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    /// `tls-server-end-point` (RFC 5929 §4), so SCRAM can bind the password exchange
    /// to this session (SCRAM-SHA-256-PLUS): a machine in the middle that terminates
    /// TLS with a certificate of its own then fails authentication, even where the
    /// certificate itself is not checked (`require`).
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| tls_server_end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// The `tls-server-end-point` channel binding of `cert`: its hash under the hash
/// function of its signature algorithm, RFC 5929 §4.1: "if the certificate's
/// signatureAlgorithm uses a single hash function and that hash function is either
/// MD5 or SHA-1, then use SHA-256". `None` for an algorithm without a single hash
/// function (Ed25519, RSA-PSS), for which PostgreSQL offers no binding either.
fn tls_server_end_point(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let parsed = x509_cert::Certificate::from_der(cert).ok()?;
    let hash = end_point_hash(parsed.signature_algorithm().oid)?;
    Some(aws_lc_rs::digest::digest(hash, cert).as_ref().to_vec())
}

fn end_point_hash(
    signature_algorithm: ObjectIdentifier,
) -> Option<&'static aws_lc_rs::digest::Algorithm> {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512};
    match signature_algorithm {
        rfc5912::MD_5_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_1_WITH_RSA_ENCRYPTION
        | rfc5912::SHA_256_WITH_RSA_ENCRYPTION
        | rfc5912::ECDSA_WITH_SHA_256 => Some(&SHA256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION | rfc5912::ECDSA_WITH_SHA_384 => Some(&SHA384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION | rfc5912::ECDSA_WITH_SHA_512 => Some(&SHA512),
        _ => None,
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256; otherwise the
    /// signature's own hash.
    #[test]
    fn end_point_hash_follows_rfc_5929() {
        let hash = |oid| end_point_hash(oid).map(|h| h.output_len());
        assert_eq!(hash(rfc5912::SHA_1_WITH_RSA_ENCRYPTION), Some(32));
        assert_eq!(hash(rfc5912::MD_5_WITH_RSA_ENCRYPTION), Some(32));
        assert_eq!(hash(rfc5912::ECDSA_WITH_SHA_256), Some(32));
        assert_eq!(hash(rfc5912::ECDSA_WITH_SHA_384), Some(48));
        assert_eq!(hash(rfc5912::SHA_512_WITH_RSA_ENCRYPTION), Some(64));
        assert_eq!(hash(const_oid::db::rfc8410::ID_ED_25519), None);
    }
}
