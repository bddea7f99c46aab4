import { Curve, proto } from '@whiskeysockets/baileys';

export interface KeyPair {
  public: Uint8Array;
  private: Uint8Array;
}

/**
 * The emulator's stand-in for WhatsApp's certificate authority: a root key (what clients must trust
 * through `WA_CERT_DETAILS.PUBLIC_KEY`), an intermediate signed by it with issuer serial 0, and the
 * leaf the intermediate signs. Clients check those two signatures and the serial, nothing else.
 */
export interface CertificateAuthority {
  root: KeyPair;
  /** `proto.CertChain`, encoded: sent encrypted in every server hello. */
  certChain: Uint8Array;
}

export function createCertificateAuthority(serverStaticPublic: Uint8Array): CertificateAuthority {
  const root = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: 0,
    notAfter: 0,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStaticPublic,
    notBefore: 0,
    notAfter: 0,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { root, certChain };
}
