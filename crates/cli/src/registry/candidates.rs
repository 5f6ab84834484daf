//! Which certificate `ccc push` publishes: the code-signing certificates — codeSigning
//! EKU *and* the matching private key at hand — from
//!
//! - `--cert FILE [--key FILE]`: a PEM or DER certificate and its PEM key (the key may
//!   sit in the certificate file, or in `<stem>.key` next to it);
//! - `--p12 FILE`: a PKCS#12 file (what `openssl pkcs12 -export` writes), password
//!   from `--p12-password-env VAR` or asked on the terminal — never on the command
//!   line, where other users can read it in the process list;
//! - when neither is given, the local store directory (`<config dir>/certs/`, or
//!   `--store DIR`): every `*.pem`, `*.crt`, `*.cer` or `*.der` certificate file whose
//!   private key is in the same file or in `<stem>.key` beside it. Files that are not
//!   code-signing certificates with their keys are skipped with a note.
//!
//! With one candidate it is used; with several, `--thumbprint` chooses, else a numbered
//! picker when a person is at the terminal, else an error listing them (a script must
//! not publish a certificate it did not name).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::signing::{self, CodeSigner};

/// A certificate `ccc push` can publish: its key is at hand and it is for code signing.
pub struct Candidate {
    pub signer: CodeSigner,
    pub thumbprint: String,
    /// Where it came from, for people: file names.
    pub source: String,
}

impl Candidate {
    fn new(signer: CodeSigner, source: String) -> Self {
        Self {
            thumbprint: signing::thumbprint(signer.certificate_der()),
            signer,
            source,
        }
    }

    /// One line for lists: thumbprint, subject, algorithm, end of validity, source.
    pub fn describe(&self) -> String {
        format!(
            "{}  {}  ({}, until {})  [{}]",
            self.thumbprint,
            self.signer.subject(),
            self.signer.algorithm(),
            self.signer.not_after(),
            self.source
        )
    }
}

/// `<stem>.key` beside a certificate file.
fn sibling_key(cert: &Path) -> PathBuf {
    cert.with_extension("key")
}

/// Does the file hold a PEM private key block?
fn holds_private_key(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| signing::private_key_block_start(&b).is_some())
}

/// The key for `cert`: `key` if given, else the certificate file itself if it holds a
/// key, else `<stem>.key`.
fn key_for(cert: &Path, key: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(key) = key {
        return Ok(key.to_owned());
    }
    if holds_private_key(cert) {
        return Ok(cert.to_owned());
    }
    let sibling = sibling_key(cert);
    if sibling.exists() {
        return Ok(sibling);
    }
    bail!(
        "no private key for {}: it holds none, and {} does not exist (pass --key)",
        cert.display(),
        sibling.display()
    )
}

/// `--cert/--key`: a certificate and key given by name; any problem is an error naming
/// the files.
pub fn from_pem_files(cert: &Path, key: Option<&Path>) -> anyhow::Result<Candidate> {
    let key = key_for(cert, key)?;
    let signer = CodeSigner::load(cert, &key)?;
    let source = if key == cert {
        cert.display().to_string()
    } else {
        format!("{} + {}", cert.display(), key.display())
    };
    Ok(Candidate::new(signer, source))
}

/// The local store: every certificate file with its key that is for code signing;
/// the rest come back as notes (file and reason), not errors — the store may hold
/// other certificates.
pub fn scan_store(dir: &Path) -> anyhow::Result<(Vec<Candidate>, Vec<String>)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("reading the store {}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["pem", "crt", "cer", "der"].contains(&e))
        })
        .collect();
    files.sort();
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for cert in files {
        match from_pem_files(&cert, None) {
            Ok(candidate) => found.push(candidate),
            Err(e) => notes.push(format!("skipped {}: {e:#}", cert.display())),
        }
    }
    Ok((found, notes))
}

/// How the PKCS#12 password is obtained.
pub enum P12Password {
    /// From this environment variable.
    Env(String),
    /// Asked on the terminal (no echo).
    Prompt,
    /// Already known (tests).
    #[cfg(test)]
    Given(String),
}

impl P12Password {
    fn get(&self, path: &Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
        match self {
            P12Password::Env(var) => match std::env::var(var) {
                Ok(value) => Ok(zeroize::Zeroizing::new(value)),
                Err(std::env::VarError::NotPresent) => bail!(
                    "--p12-password-env {var}: the variable is not set (the password of {})",
                    path.display()
                ),
                Err(std::env::VarError::NotUnicode(_)) => {
                    bail!("--p12-password-env {var}: the value is not UTF-8")
                }
            },
            P12Password::Prompt => {
                use std::io::IsTerminal;
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "{} needs its password: pass --p12-password-env VAR naming an \
                         environment variable that holds it (passwords are never taken on \
                         the command line)",
                        path.display()
                    );
                }
                rpassword::prompt_password(format!("password for {}: ", path.display()))
                    .map(zeroize::Zeroizing::new)
                    .context("reading the password from the terminal")
            }
            #[cfg(test)]
            P12Password::Given(value) => Ok(zeroize::Zeroizing::new(value.clone())),
        }
    }
}

/// `--p12`: the code-signing certificates of a PKCS#12 file whose key is in the file.
/// An error if there is none, naming the file and why each certificate was left out.
pub fn from_p12(path: &Path, password: &P12Password) -> anyhow::Result<Vec<Candidate>> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let password = password.get(path)?;
    let keystore = p12_keystore::KeyStore::from_pkcs12(&data, &password).map_err(|e| {
        use p12_keystore::error::Error;
        match e {
            // RFC 7292 §5: the MAC key is derived from the password, so a MAC that
            // does not verify is (nearly always) the wrong password.
            Error::MacError(_) => anyhow::anyhow!(
                "{}: wrong password (the PKCS#12 integrity check failed)",
                path.display()
            ),
            Error::UnpadError | Error::Pkcs5Error(_) => anyhow::anyhow!(
                "{}: cannot decrypt (wrong password, or an unsupported cipher): {e}",
                path.display()
            ),
            other => anyhow::anyhow!("{} is not a readable PKCS#12 file: {other}", path.display()),
        }
    })?;
    let mut found = Vec::new();
    let mut reasons = Vec::new();
    // Key entries pair a PKCS#8 key with the certificate of the same localKeyId
    // (RFC 7292 §4.2: what `openssl pkcs12 -export` sets on both); the leaf is first.
    for (alias, entry) in keystore.entries() {
        let p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) = entry else {
            continue;
        };
        let Some(leaf) = chain.chain().first() else {
            reasons.push(format!("{alias}: a key without its certificate"));
            continue;
        };
        match CodeSigner::new(leaf.as_der().to_vec(), "PRIVATE KEY", chain.key()) {
            Ok(signer) => found.push(Candidate::new(signer, path.display().to_string())),
            Err(e) => reasons.push(format!("{}: {e:#}", leaf.subject())),
        }
    }
    if found.is_empty() {
        bail!(
            "{} holds no code-signing certificate with its private key{}{}",
            path.display(),
            if reasons.is_empty() { "" } else { ": " },
            reasons.join("; ")
        );
    }
    Ok(found)
}

/// Drops later duplicates of a thumbprint (the same certificate in two places).
pub fn dedup(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut seen = std::collections::HashSet::new();
    candidates
        .into_iter()
        .filter(|c| seen.insert(c.thumbprint.clone()))
        .collect()
}

/// The candidate to push: the one with `thumbprint` if given; else the only one; else
/// the picker's choice if `interactive`; else an error listing them all.
pub fn choose(
    mut candidates: Vec<Candidate>,
    thumbprint: Option<&str>,
    interactive: bool,
    where_looked: &str,
) -> anyhow::Result<Candidate> {
    if candidates.is_empty() {
        bail!(
            "no code-signing certificate with its private key found in {where_looked}: \
             put CERT.pem and CERT.key there, or pass --cert FILE --key FILE or --p12 FILE"
        );
    }
    let list = |cs: &[Candidate]| {
        cs.iter()
            .map(|c| format!("\n  {}", c.describe()))
            .collect::<String>()
    };
    if let Some(want) = thumbprint {
        let want = super::normalize_thumbprint(want)?;
        let Some(at) = candidates.iter().position(|c| c.thumbprint == want) else {
            bail!(
                "no candidate has thumbprint {want}; the code-signing certificates found are:{}",
                list(&candidates)
            );
        };
        return Ok(candidates.swap_remove(at));
    }
    if candidates.len() == 1 {
        return Ok(candidates.remove(0));
    }
    if !interactive {
        bail!(
            "{} code-signing certificates found; choose one with --thumbprint:{}",
            candidates.len(),
            list(&candidates)
        );
    }
    let stdin = std::io::stdin();
    let at = pick(&candidates, stdin.lock(), std::io::stderr())?;
    Ok(candidates.swap_remove(at))
}

/// The interactive picker: lists `candidates` numbered from 1 on `output`, reads a
/// number from `input` until it is a valid one, and returns its index. End of input
/// is a refusal, not a default.
pub fn pick<R: BufRead, W: Write>(
    candidates: &[Candidate],
    input: R,
    output: W,
) -> anyhow::Result<usize> {
    let lines: Vec<String> = candidates.iter().map(Candidate::describe).collect();
    pick_line(&lines, input, output)
}

/// [`pick`] over the display lines, so it is testable without certificates.
fn pick_line<R: BufRead, W: Write>(
    lines: &[String],
    mut input: R,
    mut output: W,
) -> anyhow::Result<usize> {
    writeln!(output, "code-signing certificates:")?;
    for (i, line) in lines.iter().enumerate() {
        writeln!(output, "  {}) {line}", i + 1)?;
    }
    loop {
        write!(output, "use which one? [1-{}]: ", lines.len())?;
        output.flush()?;
        let mut answer = String::new();
        if input.read_line(&mut answer)? == 0 {
            writeln!(output)?;
            bail!("no certificate chosen");
        }
        match answer.trim().parse::<usize>() {
            Ok(n) if (1..=lines.len()).contains(&n) => return Ok(n - 1),
            _ => writeln!(
                output,
                "{:?} is not a number from 1 to {}",
                answer.trim(),
                lines.len()
            )?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn lines(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("cert {i}")).collect()
    }

    #[test]
    fn picker_lists_numbered_and_returns_the_chosen_index() {
        let mut out = Vec::new();
        let at = pick_line(&lines(3), &b"2\n"[..], &mut out).unwrap();
        assert_eq!(at, 1);
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("  1) cert 0"), "{shown}");
        assert!(shown.contains("  3) cert 2"), "{shown}");
        assert!(shown.contains("[1-3]"), "{shown}");
    }

    #[test]
    fn picker_asks_again_after_a_bad_answer() {
        let mut out = Vec::new();
        let at = pick_line(&lines(2), &b"0\nx\n9\n 2 \n"[..], &mut out).unwrap();
        assert_eq!(at, 1);
        let shown = String::from_utf8(out).unwrap();
        assert_eq!(shown.matches("is not a number from 1 to 2").count(), 3);
    }

    #[test]
    fn picker_refuses_at_end_of_input() {
        let e = pick_line(&lines(2), &b"7\n"[..], Vec::new()).unwrap_err();
        assert!(e.to_string().contains("no certificate chosen"), "{e}");
    }

    /// `openssl req -x509` into `dir`: (cert, key), EC P-256, with `ext` added.
    /// (No `testkit::openssl::self_signed`: it leaves a DER copy, which the store
    /// would offer too.)
    fn openssl_cert(dir: &Path, name: &str, ext: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        testkit::openssl::run(
            Command::new("openssl")
                .args(["req", "-x509", "-nodes", "-days", "2", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
                .args(["-subj", &format!("/CN={name}"), "-addext", ext])
                // `req -x509` otherwise writes CA:TRUE, which the registry refuses.
                .args(["-addext", "basicConstraints=CA:FALSE"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert),
        );
        (cert, key)
    }

    fn code_signing(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        openssl_cert(dir, name, "extendedKeyUsage=codeSigning")
    }

    /// `openssl pkcs12 -export` with OpenSSL's defaults (3.0: PBES2, AES-256-CBC,
    /// PBKDF2-SHA256, SHA-256 MAC).
    fn p12(dir: &Path, cert: &Path, key: &Path, password: &str) -> PathBuf {
        let out_path = dir.join("bundle.p12");
        testkit::openssl::run(
            Command::new("openssl")
                .args(["pkcs12", "-export", "-in"])
                .arg(cert)
                .arg("-inkey")
                .arg(key)
                .arg("-out")
                .arg(&out_path)
                .args(["-passout", &format!("pass:{password}")]),
        );
        out_path
    }

    #[test]
    fn store_offers_code_signing_certificates_with_their_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = code_signing(dir.path(), "a");
        let (b, b_key) = code_signing(dir.path(), "b");
        // Combined PEM: certificate and key in one file.
        let combined = dir.path().join("c.pem");
        let (c, c_key) = code_signing(dir.path(), "c-parts");
        std::fs::write(
            &combined,
            [std::fs::read(&c).unwrap(), std::fs::read(&c_key).unwrap()].concat(),
        )
        .unwrap();
        std::fs::remove_file(&c).unwrap();
        std::fs::remove_file(&c_key).unwrap();
        // Not for code signing; and one without its key.
        openssl_cert(dir.path(), "tls", "extendedKeyUsage=serverAuth");
        let (lonely, lonely_key) = code_signing(dir.path(), "lonely");
        std::fs::remove_file(lonely_key).unwrap();
        // A truncated PEM certificate.
        std::fs::write(
            dir.path().join("broken.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB",
        )
        .unwrap();

        let (found, notes) = scan_store(dir.path()).unwrap();
        let sources: Vec<&str> = found.iter().map(|c| c.source.as_str()).collect();
        assert_eq!(found.len(), 3, "{sources:?} {notes:?}");
        assert!(sources[0].contains("a.pem") && sources[0].contains("a.key"));
        assert!(sources[1].contains("b.pem"));
        assert!(sources[2].ends_with("c.pem"), "{sources:?}");
        let notes = notes.join("\n");
        assert!(
            notes.contains("tls.pem") && notes.contains("codeSigning"),
            "{notes}"
        );
        assert!(notes.contains(&lonely.display().to_string()), "{notes}");
        assert!(notes.contains("lonely.key"), "{notes}");
        assert!(notes.contains("broken.pem"), "{notes}");

        // Choosing: by thumbprint, or an error listing them when no one can pick.
        let want = found[1].thumbprint.clone();
        let chosen = choose(found, Some(&want.to_lowercase()), false, "store").unwrap();
        assert_eq!(chosen.thumbprint, want);
        let (found, _) = scan_store(dir.path()).unwrap();
        let thumbs: Vec<String> = found.iter().map(|c| c.thumbprint.clone()).collect();
        let e = choose(found, None, false, "store")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--thumbprint"), "{e}");
        for t in thumbs {
            assert!(e.contains(&t), "{e}");
        }
        assert!(e.contains("CN=a"), "{e}");
        let e = choose(Vec::new(), None, false, "the store X")
            .err()
            .unwrap();
        assert!(e.to_string().contains("the store X"), "{e}");
        let _ = (a, b, b_key);
    }

    #[test]
    fn explicit_files_fail_with_a_message_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = code_signing(dir.path(), "mine");
        let (_, other_key) = code_signing(dir.path(), "other");
        let (tls, tls_key) = openssl_cert(dir.path(), "tls", "extendedKeyUsage=serverAuth");
        from_pem_files(&cert, Some(&key)).unwrap();
        from_pem_files(&cert, None).unwrap(); // mine.key found beside it

        let e = format!(
            "{:#}",
            from_pem_files(&cert, Some(&other_key)).err().unwrap()
        );
        assert!(
            e.contains("does not belong") && e.contains("other.key"),
            "{e}"
        );
        let e = format!("{:#}", from_pem_files(&tls, Some(&tls_key)).err().unwrap());
        assert!(e.contains("codeSigning") && e.contains("tls.pem"), "{e}");

        let truncated = dir.path().join("truncated.key");
        let text = std::fs::read_to_string(&key).unwrap();
        std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
        let e = format!(
            "{:#}",
            from_pem_files(&cert, Some(&truncated)).err().unwrap()
        );
        assert!(e.contains("truncated.key"), "{e}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = format!("{:#}", from_pem_files(&garbage, Some(&key)).err().unwrap());
        assert!(e.contains("garbage.pem"), "{e}");
    }

    #[test]
    fn p12_from_openssl_pkcs12_export_loads_and_a_wrong_password_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = code_signing(dir.path(), "bundled");
        let path = p12(dir.path(), &cert, &key, "s3cret pass");
        // What OpenSSL 3.0 writes by default, so that is what is read here.
        let info = Command::new("openssl")
            .args([
                "pkcs12",
                "-info",
                "-noout",
                "-passin",
                "pass:s3cret pass",
                "-in",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&[info.stdout, info.stderr].concat()).into_owned();
        assert!(
            info.contains("PBES2") && info.contains("AES-256-CBC"),
            "{info}"
        );
        assert!(info.contains("MAC: sha256"), "{info}");
        let right = P12Password::Given("s3cret pass".into());
        let found = from_p12(&path, &right).unwrap();
        assert_eq!(found.len(), 1);
        let want = CodeSigner::load(&cert, &key).unwrap();
        assert_eq!(found[0].signer.certificate_der(), want.certificate_der());

        let wrong = P12Password::Given("not it".into());
        let e = from_p12(&path, &wrong).err().unwrap().to_string();
        assert!(
            e.contains("bundle.p12") && e.contains("wrong password"),
            "{e}"
        );
        assert!(!e.contains("not it"), "the password must not be shown: {e}");

        let e = from_p12(&path, &P12Password::Env("CCC_TEST_P12_UNSET".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("CCC_TEST_P12_UNSET"), "{e}");

        // A PKCS#12 of a certificate that is not for code signing is refused by name.
        let (tls, tls_key) = openssl_cert(dir.path(), "tls", "extendedKeyUsage=serverAuth");
        let tls_p12 = dir.path().join("tls.p12");
        std::fs::rename(p12(dir.path(), &tls, &tls_key, "s3cret pass"), &tls_p12).unwrap();
        let e = from_p12(&tls_p12, &right).err().unwrap().to_string();
        assert!(e.contains("tls.p12") && e.contains("codeSigning"), "{e}");

        // Garbage is not a PKCS#12 file.
        let junk = dir.path().join("junk.p12");
        std::fs::write(&junk, b"\x30\x03\x02\x01").unwrap();
        let e = from_p12(&junk, &right).err().unwrap().to_string();
        assert!(e.contains("junk.p12"), "{e}");
    }
}
