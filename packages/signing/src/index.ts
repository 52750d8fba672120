export { base64Encode, base64urlDecode, base64urlEncode } from "./base64.js";
export { type CanonicalInput, canonicalString, randomNonce, signCanonical, verifyCanonical } from "./canonical.js";
export { contentDigest, sha256, tokenHash } from "./digest.js";
export { TokenError, type TokenErrorCode } from "./errors.js";
export {
  type IdentityClaims,
  type IssueIdentityInput,
  issueIdentityToken,
  type VerifyIdentityOptions,
  verifyIdentityToken,
} from "./identity.js";
export {
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  ed25519PublicJwkSchema,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  type Jwks,
  parsePrivateJwk,
  parsePublicJwk,
} from "./jwk.js";
export { isHttpOrigin, peekClaims } from "./jwt-common.js";
export {
  type SignReceiptInput,
  signReceiptToken,
  type VerifyReceiptOptions,
  verifyReceiptToken,
} from "./receipt-token.js";
export { parseRegistryJwks, type RegistryJwks } from "./registries.js";
export { requestTarget, type SignRequestInput, signRequest } from "./request.js";
