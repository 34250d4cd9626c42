#!/usr/bin/env python3
"""Independent check of Hanse self-descriptions with jwcrypto (python3-jwcrypto).

    verify_jws.py JWS JWK_JSON     verify one token; exit 0 if valid, 1 (with a message) if not
    make_vc | verify_jws.py        verify every line of stdin:
                                     JWS<TAB>JWK               must verify
                                     tampered<TAB>JWS<TAB>JWK  must be rejected
                                   exit 0 if every line behaved as marked, 1 otherwise

A token is valid when, using only jwcrypto and this file (no Hanse code):
- the compact JWS signature verifies with the given JWK, alg ES256 (P-256) or EdDSA (Ed25519);
- the protected header has typ "vc+jwt" and no other alg;
- the kid is a did:key DID URL "did:key:zX#zX" whose key is the given JWK (multibase base58btc,
  multicodec p256-pub 0x1200 with a compressed point, or ed25519-pub 0xed);
- the payload is a VC 2.0 credential whose issuer is the kid's DID.
"""
import json
import sys

try:
    from jwcrypto import jwk, jws
    from jwcrypto.common import base64url_decode
except ImportError as e:  # pragma: no cover - environment problem, not a verification result
    print("verify_jws: jwcrypto is not available to %s (%s); on Debian: apt-get install "
          "python3-jwcrypto" % (sys.executable, e))
    sys.exit(1)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


class Invalid(Exception):
    pass


def b58decode(text):
    n = 0
    for c in text:
        i = B58.find(c)
        if i < 0:
            raise Invalid("did:key is not base58btc: %r" % c)
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + raw


def did_key_matches_jwk(did, key):
    if not did.startswith("did:key:z"):
        raise Invalid("kid is not a did:key DID: %s" % did)
    raw = b58decode(did[len("did:key:z"):])
    params = json.loads(key.export_public())
    if raw[:2] == b"\xed\x01":  # ed25519-pub
        if len(raw) != 34 or params.get("kty") != "OKP" or params.get("crv") != "Ed25519":
            raise Invalid("did:key is Ed25519 but the JWK is %s/%s" % (params.get("kty"), params.get("crv")))
        if raw[2:] != base64url_decode(params["x"]):
            raise Invalid("did:key names another Ed25519 key than the JWK")
    elif raw[:2] == b"\x80\x24":  # p256-pub (varint of 0x1200), compressed SEC1 point
        if len(raw) != 35 or params.get("kty") != "EC" or params.get("crv") != "P-256":
            raise Invalid("did:key is P-256 but the JWK is %s/%s" % (params.get("kty"), params.get("crv")))
        x = base64url_decode(params["x"])
        y = base64url_decode(params["y"])
        if raw[3:] != x or raw[2] != (0x02 | (y[-1] & 1)):
            raise Invalid("did:key names another P-256 key than the JWK")
    else:
        raise Invalid("did:key has an unknown multicodec %s" % raw[:2].hex())


def verify(token, jwk_json):
    token = token.strip()
    try:
        key = jwk.JWK.from_json(jwk_json)
    except Exception as e:  # noqa: BLE001 - any failure is a refusal
        raise Invalid("bad JWK: %s" % e)
    params = json.loads(key.export_public())
    expected_alg = {"EC": "ES256", "OKP": "EdDSA"}.get(params.get("kty"))
    if expected_alg is None or params.get("crv") not in ("P-256", "Ed25519"):
        raise Invalid("unsupported key %s/%s" % (params.get("kty"), params.get("crv")))

    obj = jws.JWS()
    obj.allowed_algs = ["ES256", "EdDSA"]
    try:
        obj.deserialize(token)
        obj.verify(key, alg=expected_alg)
    except Exception as e:  # noqa: BLE001
        raise Invalid("signature does not verify: %s: %s" % (type(e).__name__, e))

    header = obj.jose_header
    if header.get("alg") != expected_alg:
        raise Invalid("alg %r, expected %s" % (header.get("alg"), expected_alg))
    if header.get("typ") != "vc+jwt":
        raise Invalid("typ is %r, not 'vc+jwt'" % header.get("typ"))
    for forbidden in ("jwk", "jku", "x5u", "x5c", "crit"):
        if forbidden in header:
            raise Invalid("header has %r" % forbidden)
    kid = header.get("kid", "")
    did, _, fragment = kid.partition("#")
    if not fragment or did.split(":")[-1] != fragment:
        raise Invalid("kid %r is not a did:key DID URL" % kid)
    did_key_matches_jwk(did, key)

    try:
        payload = json.loads(obj.payload.decode("utf-8"))
    except Exception as e:  # noqa: BLE001
        raise Invalid("payload is not UTF-8 JSON: %s" % e)
    if not isinstance(payload, dict):
        raise Invalid("payload is not a JSON object")
    ctx = payload.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != VC_CONTEXT:
        raise Invalid("@context does not start with %s" % VC_CONTEXT)
    types = payload.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise Invalid("type does not include VerifiableCredential")
    if payload.get("issuer") != did:
        raise Invalid("issuer %r is not the kid's DID %r" % (payload.get("issuer"), did))
    subject = payload.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("id") != payload.get("id"):
        raise Invalid("credentialSubject.id does not equal id")
    return expected_alg


def main(argv):
    if len(argv) == 3:
        try:
            alg = verify(argv[1], argv[2])
        except Invalid as e:
            print("verify_jws: INVALID: %s" % e)
            return 1
        print("verify_jws: ok (%s)" % alg)
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2

    failures = 0
    valid_algs = set()
    tampered = 0
    for number, line in enumerate(sys.stdin, 1):
        line = line.rstrip("\n")
        if not line:
            continue
        fields = line.split("\t")
        expect_valid = True
        if fields[0] == "tampered":
            expect_valid = False
            fields = fields[1:]
        if len(fields) != 2:
            print("line %d: expected JWS<TAB>JWK" % number)
            failures += 1
            continue
        try:
            alg = verify(fields[0], fields[1])
            if expect_valid:
                valid_algs.add(alg)
                print("line %d: ok, verified (%s)" % (number, alg))
            else:
                print("line %d: FAIL: tampered token was accepted" % number)
                failures += 1
        except Invalid as e:
            if expect_valid:
                print("line %d: FAIL: %s" % (number, e))
                failures += 1
            else:
                tampered += 1
                print("line %d: ok, rejected as expected (%s)" % (number, e))
    # Guard against a producer that crashed or printed nothing.
    for alg in ("ES256", "EdDSA"):
        if alg not in valid_algs:
            print("FAIL: no valid %s token was verified" % alg)
            failures += 1
    if tampered == 0:
        print("FAIL: no tampered token was checked")
        failures += 1
    if failures:
        print("verify_jws: %d failure(s)" % failures)
        return 1
    print("verify_jws: all tokens behaved as expected (%d valid algs, %d tampered rejected)"
          % (len(valid_algs), tampered))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
