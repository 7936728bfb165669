"""Writes the Secure Mode test vectors with Python's standard library only, independently of the
Node helpers they check. Run: python3 test/vectors/generate.py [--check]"""
import base64, hashlib, hmac, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SECRETS = ["Secure Mode Secret", "s3cr3t-with-ünïcode", "x"]
IDS = ["123456", "id-of-the-person", "email@email.com", "zoë@例え.jp", "a b\tc", "0"]


def mac(secret, person_id):
    return hmac.new(secret.encode("utf-8"), person_id.encode("utf-8"), hashlib.sha256).digest()


def token(key, user_id, now_ms):
    # The seed's steps: decode the key, HMAC(hmacSecret, userId || timestamp), join hmacId || timestamp || digest.
    hmac_id, hmac_secret = [bytes.fromhex(p.replace("-", "")) for p in base64.b64decode(key).decode().split(";")]
    seconds = format(round(now_ms / 1000), "x")
    timestamp = bytes.fromhex(seconds if len(seconds) % 2 == 0 else "0" + seconds)
    digest = hmac.new(hmac_secret, user_id.encode("utf-8") + timestamp, hashlib.sha256).digest()
    return base64.b64encode(hmac_id + timestamp + digest).decode()


KEYS = [
    base64.b64encode(b"0f8e2c1a-7b3d-4e5f-9a0b-1c2d3e4f5a6b;9b8a7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4e3f2").decode(),
    base64.b64encode(b"abcd;00112233445566778899aabbccddeeff").decode(),
]
NOWS = [1795263955264, 1795263955764, 1700000000000, 1000000000]

vectors = {
    "hex.json": {
        "description": "Person Signature (GoSquared, Help Scout): lowercase hex HMAC-SHA256(secret, UTF-8 of the id).",
        "vectors": [{"secret": s, "id": i, "signature": mac(s, i).hex()} for s in SECRETS for i in IDS],
    },
    "base64.json": {
        "description": "userSignature (Engagespot): standard padded base64 of HMAC-SHA256(secret, UTF-8 of the id).",
        "vectors": [{"secret": s, "id": i, "signature": base64.b64encode(mac(s, i)).decode()} for s in SECRETS for i in IDS],
    },
    "token.json": {
        "description": "Verification tokens (GetintheLoop): base64(hmacId || timestamp || HMAC-SHA256(hmacSecret, userId || timestamp)); key is base64 of 'hmacId;hmacSecret' in hex (dashes removed); timestamp is round(now/1000) as big-endian bytes; now is in ms.",
        "vectors": [{"key": k, "userId": i, "now": n, "token": token(k, i, n)} for k in KEYS for i in IDS[:4] for n in NOWS],
    },
}

check = "--check" in sys.argv
for name, content in vectors.items():
    path = os.path.join(HERE, name)
    text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    if check:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{name} differs from what generate.py makes")
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
print("vectors " + ("match" if check else "written"))
