#!/bin/sh
# Generates the certificates and keys the core's unit tests read.
# Run once from anywhere: sh tests/data/gen.sh  (needs the openssl CLI).
# The outputs are committed; re-running replaces them with new keys.
set -eu
cd "$(dirname "$0")"
D=36500
CNF=ext.cnf
cat > $CNF <<'CONF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf1]
basicConstraints = CA:FALSE
subjectAltName = DNS:www.example.com,DNS:*.example.org,IP:192.0.2.7,IP:2001:db8::7
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf2]
subjectAltName = DNS:api.example.com,DNS:*.example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leafec]
subjectAltName = DNS:ec.example.net
authorityKeyIdentifier = keyid
[leafed]
subjectAltName = DNS:ed.example.net
CONF

# Root CA (RSA) and an intermediate under it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days $D \
    -subj "/CN=polytls test root" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/CN=polytls test intermediate" 2>/dev/null
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem -days $D \
    -extfile $CNF -extensions ca 2>/dev/null

# RSA leaves under the intermediate; leaf1's key also in PKCS#1 and encrypted forms.
for l in leaf1 leaf2; do
    openssl req -new -newkey rsa:2048 -nodes -keyout $l.key -out $l.csr -subj "/CN=$l" 2>/dev/null
    openssl x509 -req -in $l.csr -CA int.pem -CAkey int.key -CAcreateserial -out $l.pem -days $D \
        -extfile $CNF -extensions $l 2>/dev/null
done
openssl rsa -in leaf1.key -traditional -out leaf1.rsa.key 2>/dev/null
openssl pkcs8 -topk8 -in leaf1.key -passout pass:secret -out leaf1.enc.key
openssl rsa -in leaf1.key -traditional -aes128 -passout pass:secret -out leaf1.rsaenc.key 2>/dev/null

# An EC (P-256) leaf directly under the root; SEC1 key with and without public point.
openssl ecparam -name prime256v1 -genkey -noout -out leafec.sec1.key
openssl pkcs8 -topk8 -nocrypt -in leafec.sec1.key -out leafec.key
openssl ec -in leafec.sec1.key -no_public -out leafec.nopub.key 2>/dev/null
openssl req -new -key leafec.key -out leafec.csr -subj "/CN=leafec" 2>/dev/null
openssl x509 -req -in leafec.csr -CA root.pem -CAkey root.key -CAcreateserial -out leafec.pem -days $D \
    -extfile $CNF -extensions leafec 2>/dev/null
# Another P-256 key: right curve, wrong point.
openssl ecparam -name prime256v1 -genkey -noout -out other_ec.sec1.key
# A P-384 key: right algorithm, wrong curve.
openssl ecparam -name secp384r1 -genkey -noout -out p384.sec1.key

# An Ed25519 leaf under the root (the core cannot check its key).
openssl genpkey -algorithm ed25519 -out leafed.key
openssl req -new -key leafed.key -out leafed.csr -subj "/CN=leafed" 2>/dev/null
openssl x509 -req -in leafed.csr -CA root.pem -CAkey root.key -CAcreateserial -out leafed.pem -days $D \
    -extfile $CNF -extensions leafed 2>/dev/null

# A stray: an unrelated self-signed CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days $D \
    -subj "/CN=unrelated root" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null

# DER copies for the DER-level tests.
openssl x509 -in leaf1.pem -outform DER -out leaf1.der
openssl pkey -in leaf1.key -outform DER -out leaf1.key.der
openssl rsa -in leaf1.key -traditional -outform DER -out leaf1.rsa.key.der 2>/dev/null
openssl x509 -in leafec.pem -outform DER -out leafec.der
openssl ec -in leafec.sec1.key -outform DER -out leafec.sec1.key.der 2>/dev/null

rm -f ./*.csr ./*.srl $CNF int.key root.key
