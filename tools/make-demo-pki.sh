#!/bin/sh
# Regenerates tools/demo_pki.h: a demo CA and one leaf for demo.polytls.test.
set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 7300 -subj "/CN=polytls demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
  -subj "/CN=demo.polytls.test"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:demo.polytls.test\n' > ext.cnf
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7299 -extfile ext.cnf -out leaf.pem
openssl pkcs8 -topk8 -nocrypt -in leaf.key -out leaf.p8
echo "now paste ca.pem, leaf.pem and leaf.p8 into tools/demo_pki.h (kept in $d until exit)"
