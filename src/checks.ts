// Development-time checks for the mistakes seen in the wild: the secret pasted into the page,
// base64 where hex was meant, a truncated signature.
export function signatureProblem(signature: string): string | undefined {
  let bytes = ''
  try {
    bytes = atob(signature)
  } catch (_) {}
  // 64 hex or a JWT's three base64url parts, base64 of 32 bytes (an HMAC, Engagespot's), or 37 or
  // more binary bytes (a verification token).
  return /^([\da-f]{64}|[\w-]+\.[\w-]+\.[\w-]+)$/i.test(signature) || bytes.length == 32 || (bytes.length > 36 && /[^ -~]/.test(bytes))
    ? undefined
    : /;/.test(bytes)
      ? 'signature is a Verification Key, a secret: make tokens on your server'
      : 'signature is not 64 hex, base64 of 32 bytes or a token'
}

/** Whether this page is served from this machine. */
export const onDevHost = () => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(location.hostname)
