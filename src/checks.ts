// Development-time checks for the mistakes seen in the wild: the secret pasted into the page,
// base64 where hex was meant, a truncated signature.
export function signatureProblem(signature: string): string | undefined {
  if (/^[0-9a-f]{64}$/i.test(signature)) return
  let bytes: string
  try {
    bytes = atob(signature)
  } catch (_) {
    bytes = ''
  }
  // base64 of 32 bytes is an HMAC (Engagespot); 37 or more binary bytes a verification token.
  if (bytes.length == 32 || (bytes.length > 36 && !/^[\x20-\x7e]*$/.test(bytes))) return
  if (/^[\w-]+;[\w-]+$/.test(bytes))
    return 'signature is a Verification Key, a secret: make tokens on your server'
  return 'signature is not 64 hex, base64 of 32 bytes or a token'
}

export const isDevHost = (hostname: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(hostname)
