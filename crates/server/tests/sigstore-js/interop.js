#!/usr/bin/env node
// sigstore-js, unmodified, as a client of `certcentral serve --dev`
// (driven by crates/server/tests/sigstore_js_e2e.rs).
//
//   node interop.js sign   BASE FILE BUNDLE_OUT EMAIL [--tsa]
//   node interop.js verify BASE FILE BUNDLE EMAIL
//
// `sign` takes a token from the development OIDC issuer for EMAIL and signs FILE with
// sigstore-js's own `sign` (Fulcio at BASE, Rekor v1 at BASE/rekor/dev-v1, with --tsa
// also an RFC 3161 timestamp from BASE's TSA), writing the bundle JSON to BUNDLE_OUT.
//
// `verify` checks BUNDLE over FILE against the TrustedRoot the server publishes at
// BASE/sigstore/trusted_root.json. sigstore-js's high-level `verify` only takes a
// trusted root through TUF, so this builds the same pipeline from its parts:
// `bundleFromJSON` → `toSignedEntity` → `Verifier(toTrustMaterial(root))` with a policy
// naming EMAIL as the certificate's subjectAlternativeName and the dev issuer as its
// issuer extension.
//
// Each prints one JSON summary on stdout and exits 0; any failure prints the error on
// stderr and exits 1.
'use strict';

const fs = require('node:fs');
const sigstore = require('sigstore');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

// Generous against a loaded CI machine; sigstore-js's default is 5 s per request.
const TIMEOUT_MS = 30000;
// A request the server refuses is a finding, not something to retry.
const RETRY = { retries: 0 };

async function fetchJSON(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

async function devToken(base, email) {
  const answer = await fetchJSON(`${base}/dev/oidc/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (typeof answer.id_token !== 'string') {
    throw new Error(`the dev issuer's answer has no id_token: ${JSON.stringify(answer)}`);
  }
  return answer.id_token;
}

async function sign(base, file, bundleOut, email, withTsa) {
  const identityToken = await devToken(base, email);
  const bundle = await sigstore.sign(fs.readFileSync(file), {
    fulcioURL: base,
    rekorURL: `${base}/rekor/dev-v1`,
    tsaServerURL: withTsa ? base : undefined,
    identityToken,
    timeout: TIMEOUT_MS,
    retry: RETRY,
  });
  fs.writeFileSync(bundleOut, JSON.stringify(bundle));
  const tlog = bundle.verificationMaterial.tlogEntries;
  return {
    mediaType: bundle.mediaType,
    tlogEntries: tlog.length,
    logIndex: tlog[0]?.logIndex,
    kind: tlog[0]?.kindVersion,
    rfc3161Timestamps:
      bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length ?? 0,
  };
}

async function verify(base, file, bundlePath, email) {
  const root = TrustedRoot.fromJSON(await fetchJSON(`${base}/sigstore/trusted_root.json`));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const entity = toSignedEntity(bundle, fs.readFileSync(file));
  // sigstore-js's defaults: one tlog entry, one SCT, one verified timestamp.
  const verifier = new Verifier(toTrustMaterial(root));
  const issuer = `${base}/dev/oidc`;
  // The policy's subjectAlternativeName is a regular expression: anchor and escape it.
  const san = `^${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const signer = verifier.verify(entity, {
    subjectAlternativeName: san,
    extensions: { issuer },
  });
  return {
    verified: true,
    mediaType: bundle.mediaType,
    subjectAlternativeName: signer.identity?.subjectAlternativeName,
    issuer: signer.identity?.extensions?.issuer,
    tlogEntries: entity.tlogEntries.length,
    timestamps: entity.timestamps.map((t) => t.$case),
  };
}

async function main(argv) {
  const [command, base, file, bundle, email, ...flags] = argv;
  if (!base || !file || !bundle || !email) {
    throw new Error('usage: interop.js sign|verify BASE FILE BUNDLE EMAIL [--tsa]');
  }
  const trimmed = base.replace(/\/+$/, '');
  switch (command) {
    case 'sign':
      return sign(trimmed, file, bundle, email, flags.includes('--tsa'));
    case 'verify':
      return verify(trimmed, file, bundle, email);
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (summary) => process.stdout.write(`${JSON.stringify(summary)}\n`),
  (err) => {
    // sigstore-js's errors carry a code and often a cause; both say what failed.
    const code = err.code ? `${err.code}: ` : '';
    const cause = err.cause ? `\ncaused by: ${err.cause.stack ?? err.cause}` : '';
    process.stderr.write(`${code}${err.stack ?? err}${cause}\n`);
    process.exit(1);
  },
);
