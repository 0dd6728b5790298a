#!/bin/sh
# Generates the throw-away test PKI used by the conformance suite.
#
#   gen.sh OUTDIR [DH_DER]   build the whole PKI into OUTDIR (copying DH_DER,
#                            the shipped 2048-bit DH parameters, next to it)
#   gen.sh dh FILE           (re)generate the DH parameters once; slow, so the
#                            result is committed as conformance/pki/dh2048.der
#
# Files written into OUTDIR (PEM unless noted; NAME.der is the DER certificate):
#   root.pem            ECDSA P-256 root CA (the trust anchor for servers)
#   inter.pem           intermediate CA under root
#   server-ec           leaf, SAN DNS:server.test DNS:*.wild.test IP:127.0.0.1, P-256
#   server-rsa          leaf, SAN DNS:rsa.test DNS:server.test, RSA 2048
#   other               leaf, SAN DNS:other.test, P-256
#   expired             leaf for server.test, valid 2020-01-01 .. 2021-01-01
#   future              leaf for server.test, valid 2030-01-01 .. 2031-01-01
#   expired-root        self-signed CA, valid 2000-01-01 .. 2001-01-01
#                       (inside the 10 years of root and inter: the verify
#                       time tests set a time when the whole chain is valid)
#   evil                self-signed leaf for server.test (unknown CA)
#   client-ca1/-ca2     two independent client root CAs
#   client1 / client2   client leaves under client-ca1 / client-ca2
#   stray.key           a key that matches no certificate
#   For each leaf L: L.pem (leaf only), L.key (PKCS#8), L-chain.pem (leaf +
#   intermediate as served; the client leaves have no intermediate).
#   server-rsa.pkcs1.key (PKCS#1), server-ec.sec1.key (SEC1),
#   server-ec.key.der (PKCS#8 DER), server-rsa.pkcs1.key.der,
#   server-ec.sec1.key.der, stray.key.der, dh2048.der (PKCS#3 DER), pki.stamp.
#
# Only the openssl command line (3.0) is used. Nothing here is secret: keys
# are regenerated on every build and never leave the build directory.
set -eu

OPENSSL=${OPENSSL:-openssl}

if [ "${1:-}" = "dh" ]; then
    [ $# -eq 2 ] || { echo "usage: $0 dh FILE" >&2; exit 2; }
    "$OPENSSL" dhparam -outform DER -out "$2" 2048
    exit 0
fi
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [DH_DER] | $0 dh FILE" >&2; exit 2; }

OUT=$1
DH=${2:-}
# The DH file is named relative to the caller's directory: make it absolute
# before moving into OUT.
if [ -n "$DH" ]; then
    DH=$(cd "$(dirname "$DH")" && pwd)/$(basename "$DH")
fi
mkdir -p "$OUT"
cd "$OUT"
rm -rf work && mkdir work

# One config holds every extension profile so each certificate says exactly
# what it is; we never rely on the system openssl.cnf defaults (which would
# e.g. mark every req -x509 certificate as a CA).
cat > work/ext.cnf <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ inter ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ server_ec ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:server.test, DNS:*.wild.test, IP:127.0.0.1
[ server_rsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:rsa.test, DNS:server.test
[ other ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:other.test
[ evil ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:server.test
[ expired ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:server.test
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

serial=4096
next_serial() { serial=$((serial + 1)); echo "$serial"; }

ec_key() {   # PKCS#8 PEM, P-256, named curve
    "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
}
rsa_key() {  # PKCS#8 PEM, 2048 bits
    "$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
}

# self_signed NAME CN PROFILE
self_signed() {
    "$OPENSSL" req -new -x509 -config work/ext.cnf -extensions "$3" \
        -key "$1.key" -subj "/O=polytls test/CN=$2" -days 3650 -sha256 \
        -set_serial "$(next_serial)" -out "$1.pem"
}

# issue NAME CN PROFILE ISSUER
issue() {
    "$OPENSSL" req -new -config work/ext.cnf -key "$1.key" \
        -subj "/O=polytls test/CN=$2" -out "work/$1.csr"
    "$OPENSSL" x509 -req -in "work/$1.csr" -CA "$4.pem" -CAkey "$4.key" \
        -set_serial "$(next_serial)" -days 3650 -sha256 \
        -extfile work/ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}

der() { "$OPENSSL" x509 -in "$1.pem" -outform DER -out "$1.der"; }

# --- server side: root (P-256) -> intermediate -> leaves -------------------
ec_key root.key;  self_signed root "polytls test root" root
ec_key inter.key; issue inter "polytls test intermediate" inter root

ec_key server-ec.key;   issue server-ec server.test server_ec inter
rsa_key server-rsa.key; issue server-rsa rsa.test server_rsa inter
ec_key other.key;       issue other other.test other inter

# Unknown CA: self-signed leaf that claims server.test.
ec_key evil.key; self_signed evil server.test evil

# Expired: openssl 3.0's x509/req cannot back-date, but `ca` takes explicit
# start and end dates, so a minimal throw-away CA database is set up for it.
ec_key expired.key
"$OPENSSL" req -new -config work/ext.cnf -key expired.key \
    -subj "/O=polytls test/CN=server.test" -out work/expired.csr
mkdir -p work/ca && : > work/ca/index.txt
next_serial > work/ca/serial
cat > work/ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = work/ca
database = work/ca/index.txt
serial = work/ca/serial
new_certs_dir = work/ca
certificate = inter.pem
private_key = inter.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
organizationName = optional
commonName = supplied
CNF
"$OPENSSL" ca -batch -config work/ca.cnf -notext \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -extfile work/ext.cnf -extensions expired \
    -in work/expired.csr -out expired.pem 2>/dev/null

# Not yet valid: same CA database, same profile, dates in the future.
ec_key future.key
"$OPENSSL" req -new -config work/ext.cnf -key future.key \
    -subj "/O=polytls test/CN=server.test" -out work/future.csr
"$OPENSSL" ca -batch -config work/ca.cnf -notext \
    -startdate 20300101000000Z -enddate 20310101000000Z \
    -extfile work/ext.cnf -extensions expired \
    -in work/future.csr -out future.pem 2>/dev/null
serial=$((serial + 1)) # `ca` used this one and the one before

# A self-signed CA that expired long ago: trust stores (system bundles too)
# may hold such anchors, and every backend must still start and verify.
ec_key expired-root.key
"$OPENSSL" req -new -config work/ext.cnf -key expired-root.key \
    -subj "/O=polytls test/CN=polytls expired root" -out work/expired-root.csr
"$OPENSSL" ca -batch -config work/ca.cnf -notext -selfsign -keyfile expired-root.key \
    -startdate 20000101000000Z -enddate 20010101000000Z \
    -extfile work/ext.cnf -extensions root \
    -in work/expired-root.csr -out expired-root.pem 2>/dev/null
serial=$((serial + 1))

# Served chains: leaf + intermediate (the root is the trust anchor).
for leaf in server-ec server-rsa other expired future; do
    cat "$leaf.pem" inter.pem > "$leaf-chain.pem"
done

# --- client side: two independent client CAs ------------------------------
ec_key client-ca1.key; self_signed client-ca1 "polytls client CA 1" root
ec_key client-ca2.key; self_signed client-ca2 "polytls client CA 2" root
ec_key client1.key; issue client1 client1 client client-ca1
ec_key client2.key; issue client2 client2 client client-ca2
cp evil.pem evil-chain.pem
cp client1.pem client1-chain.pem
cp client2.pem client2-chain.pem

# A key that matches no certificate.
ec_key stray.key

# Other key encodings for the factories: PKCS#1 RSA, SEC1 EC, and DER.
"$OPENSSL" pkey -in server-rsa.key -traditional -out server-rsa.pkcs1.key
"$OPENSSL" ec -in server-ec.key -out server-ec.sec1.key 2>/dev/null
# (pkey writes traditional DER; pkcs8 -topk8 gives the PKCS#8 form)
"$OPENSSL" pkcs8 -topk8 -nocrypt -in server-ec.key -outform DER -out server-ec.key.der
"$OPENSSL" pkey -in server-rsa.pkcs1.key -outform DER -out server-rsa.pkcs1.key.der 2>/dev/null
"$OPENSSL" ec -in server-ec.key -outform DER -out server-ec.sec1.key.der 2>/dev/null
"$OPENSSL" pkcs8 -topk8 -nocrypt -in stray.key -outform DER -out stray.key.der

for c in root inter server-ec server-rsa other evil expired future \
         client-ca1 client-ca2 client1 client2; do
    der "$c"
done

# Certificate pins: SHA-256 of each DER SubjectPublicKeyInfo (binary, 32 bytes).
for c in root inter server-ec other client-ca1 client1; do
    "$OPENSSL" x509 -in "$c.pem" -pubkey -noout | "$OPENSSL" pkey -pubin -outform DER |
        "$OPENSSL" dgst -sha256 -binary > "$c.pin"
done

if [ -n "$DH" ]; then
    cp "$DH" dh2048.der
fi
rm -rf work
echo "polytls test PKI" > pki.stamp
